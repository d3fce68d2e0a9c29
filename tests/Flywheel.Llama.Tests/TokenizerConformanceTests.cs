namespace Flywheel.Llama.Tests;

/// <summary>llama.cpp's own tokenizer test cases, on real Llama 3 (BPE) and Llama 2 (SentencePiece) vocabularies.</summary>
public class TokenizerConformanceTests
{
    public static TheoryData<string> Vocabularies => new() { "ggml-vocab-llama-bpe.gguf", "ggml-vocab-llama-spm.gguf" };

    private static List<(string Text, int[] Expected)> Cases(string vocab)
    {
        string inp = File.ReadAllText(TestModels.DataPath("vocab", vocab + ".inp"));
        var texts = inp.Split("\n__ggml_vocab_test__\n");
        var outs = File.ReadAllLines(TestModels.DataPath("vocab", vocab + ".out"));
        // The .inp file ends with a separator line: the last split piece is empty, after the final case.
        texts = texts[..^1];
        Assert.Equal(outs.Length, texts.Length);
        return texts.Zip(outs, (t, o) => (t, o.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray())).ToList();
    }

    [Theory]
    [MemberData(nameof(Vocabularies))]
    public void Every_case_matches_llama_cpp_expected_tokens(string vocab)
    {
        using var model = LlamaModel.Load(TestModels.DataPath("vocab", vocab), new ModelOptions { VocabularyOnly = true });
        var cases = Cases(vocab);
        Assert.True(cases.Count > 30, $"only {cases.Count} cases read");
        var failures = cases
            .Select(c => (c.Text, c.Expected, Actual: model.Vocabulary.Tokenize(c.Text, addSpecial: false, parseSpecial: false)))
            .Where(c => !c.Expected.SequenceEqual(c.Actual))
            .Select(c => $"'{c.Text}': expected [{string.Join(' ', c.Expected)}], got [{string.Join(' ', c.Actual)}]")
            .ToList();
        Assert.Empty(failures);
    }

    [Theory]
    [MemberData(nameof(Vocabularies))]
    public void Text_round_trips_through_tokens_multibyte_characters_included(string vocab)
    {
        using var model = LlamaModel.Load(TestModels.DataPath("vocab", vocab), new ModelOptions { VocabularyOnly = true });
        foreach (var (text, expected) in Cases(vocab)) Assert.Equal(text, model.Vocabulary.Detokenize(expected));
        // A character split across tokens (the llama emoji is 4 bytes, several byte tokens) decodes whole.
        var tokens = model.Vocabulary.Tokenize("a 🦙 and 東京");
        Assert.Equal("a 🦙 and 東京", model.Vocabulary.Detokenize(tokens));
    }

    [Fact]
    public void Special_tokens_parse_only_when_asked_and_bos_is_never_doubled()
    {
        using var model = LlamaModel.Load(TestModels.DataPath("vocab", "ggml-vocab-llama-bpe.gguf"), new ModelOptions { VocabularyOnly = true });
        var v = model.Vocabulary;
        Assert.True(v.AddsBos);
        string bosText = v.TokenText(v.Bos);
        Assert.Equal("<|begin_of_text|>", bosText);

        var plain = v.Tokenize("hi", addSpecial: true);
        Assert.Equal(v.Bos, plain[0]);
        Assert.Equal(1, plain.Count(t => t == v.Bos));

        // A chat template that already wrote the BOS text: still one BOS.
        var templated = v.Tokenize(bosText + "hi", addSpecial: true, parseSpecial: true);
        Assert.Equal(plain, templated);

        // Not parsed as special, the BOS text is ordinary text.
        var literal = v.Tokenize(bosText, addSpecial: false, parseSpecial: false);
        Assert.DoesNotContain(v.Bos, literal);
    }
}
