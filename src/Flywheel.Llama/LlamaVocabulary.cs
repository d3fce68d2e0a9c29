using System.Text;
using Flywheel.Llama.Gguf;
using LLama.Native;

namespace Flywheel.Llama;

/// <summary>A model's vocabulary: tokenize and detokenize with llama.cpp's own tokenizer.</summary>
public sealed class LlamaVocabulary
{
    private readonly LlamaModel _model;
    private readonly SafeLlamaModelHandle.Vocabulary _vocab;
    private readonly string[]? _texts;
    private readonly bool _addsSpacePrefix;

    internal LlamaVocabulary(LlamaModel model, GgufFile gguf)
    {
        _model = model;
        _vocab = model.Handle.Vocab;
        Count = _vocab.Count;
        Bos = _vocab.BOS is { } bos ? (int)bos : -1;
        Eos = _vocab.EOS is { } eos ? (int)eos : -1;
        Eot = _vocab.EOT is { } eot ? (int)eot : -1;
        AddsBos = _vocab.ShouldAddBOS;
        AddsEos = _vocab.ShouldAddEOS;
        _texts = gguf.Metadata.GetValueOrDefault("tokenizer.ggml.tokens")?.Value as string[];
        // As llama.cpp decides it: SentencePiece vocabularies prefix a space unless the GGUF says not to.
        bool? flag = gguf.Metadata.GetValueOrDefault("tokenizer.ggml.add_space_prefix")?.Value as bool?;
        _addsSpacePrefix = _vocab.Type == LLamaVocabType.SentencePiece ? flag != false : flag == true;
    }

    public int Count { get; }

    /// <summary>Beginning-of-sequence token, or -1.</summary>
    public int Bos { get; }

    public int Eos { get; }

    /// <summary>End-of-turn token, or -1.</summary>
    public int Eot { get; }

    /// <summary>Whether the model expects a BOS token at the start of every sequence.</summary>
    public bool AddsBos { get; }

    public bool AddsEos { get; }

    /// <summary>True for tokens that end generation (EOS, EOT and the like).</summary>
    public bool IsEndOfGeneration(int token) => ((LLamaToken)token).IsEndOfGeneration(_vocab);

    public bool IsControl(int token) => ((LLamaToken)token).IsControl(_vocab);

    /// <summary>The token's text as stored in the vocabulary (e.g. "Ġthe" for byte-level BPE), from the GGUF's token list.</summary>
    public string TokenText(int token)
    {
        CheckToken(token);
        return _texts is not null && token < _texts.Length ? _texts[token] : "";
    }

    /// <summary>
    /// Tokenizes <paramref name="text"/>. With <paramref name="addSpecial"/> the model's BOS/EOS are added as it asks;
    /// with <paramref name="parseSpecial"/> special-token text (such as "&lt;|im_start|&gt;") becomes those tokens.
    /// A BOS that the text already starts with is never doubled.
    /// </summary>
    public int[] Tokenize(string text, bool addSpecial = false, bool parseSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = _model.Handle.Tokenize(text, addSpecial, parseSpecial, Encoding.UTF8);
        int skip = 0;
        // A chat template that writes the BOS text itself, tokenized with add_special, would give BOS BOS.
        if (addSpecial && tokens.Length >= 2 && Bos >= 0 && (int)tokens[0] == Bos && (int)tokens[1] == Bos) skip = 1;
        var result = new int[tokens.Length - skip];
        for (int i = 0; i < result.Length; i++) result[i] = (int)tokens[i + skip];
        return result;
    }

    /// <summary>The raw bytes of one token (special tokens render as their text only when <paramref name="special"/>).</summary>
    public byte[] TokenBytes(int token, bool special = false)
    {
        Span<byte> buffer = stackalloc byte[128];
        return TokenBytes(token, special, lstrip: 0, buffer).ToArray();
    }

    /// <summary>Writes one token's bytes into <paramref name="buffer"/> when they fit; returns them (in a new array when not).</summary>
    internal ReadOnlySpan<byte> TokenBytes(int token, bool special, int lstrip, Span<byte> buffer)
    {
        CheckToken(token);
        int n = NativeApi.llama_token_to_piece(_vocab, token, buffer, lstrip, special);
        if (n >= 0) return buffer[..n];
        var big = new byte[-n];
        n = NativeApi.llama_token_to_piece(_vocab, token, big, lstrip, special);
        return big.AsSpan(0, n);
    }

    /// <summary>
    /// Detokenizes: the bytes of all tokens are joined before UTF-8 decoding, so characters split across tokens survive,
    /// and the space a SentencePiece vocabulary prefixes when tokenizing is removed — Tokenize's exact inverse.
    /// </summary>
    public string Detokenize(ReadOnlySpan<int> tokens, bool special = false)
    {
        var bytes = new List<byte>(tokens.Length * 4);
        Span<byte> buffer = stackalloc byte[128];
        for (int i = 0; i < tokens.Length; i++)
            bytes.AddRange(TokenBytes(tokens[i], special, lstrip: i == 0 && _addsSpacePrefix ? 1 : 0, buffer));
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private void CheckToken(int token)
    {
        if ((uint)token >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(token), token, $"token id outside the vocabulary of {_model.Path} ({Count} tokens)");
    }
}
