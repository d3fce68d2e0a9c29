using Flywheel.Llama.Embedding;
using Flywheel.Llama.Gguf;
using Flywheel.Llama.Contexts;
using LLama.Native;

namespace Flywheel.Llama.Tests;

public class EmbedderTests
{
    private static readonly string[] Texts = ["Hello there.", "A longer sequence of text for the embedder to read.", "x", "ünï 🦙"];

    /// <summary>llama.cpp's own last-token logits, from a plain generation context.</summary>
    private static float[] Logits(LlamaModel model, int[] tokens)
    {
        using var ctx = EngineContext.Create(model, 1, 256, 256, 1, embeddings: false);
        var batch = new LLamaBatch();
        for (int i = 0; i < tokens.Length; i++) batch.Add(tokens[i], i, (LLamaSeqId)0, i == tokens.Length - 1);
        EngineContext.Decode(ctx, batch);
        return ctx.GetLogitsIth(tokens.Length - 1)[..model.Vocabulary.Count].ToArray();
    }

    [Fact]
    public void The_embedding_is_the_final_norm_hidden_state_that_the_output_matrix_turns_into_the_logits()
    {
        var model = TestModels.PeakedModel;
        var gguf = GgufFile.Open(model.Path);
        float[] output = gguf.ReadTensorFloats(gguf.GetTensor("output.weight"));
        int d = model.EmbeddingLength;
        using var embedder = new LastTokenEmbedder(model, new EmbedderOptions { Sequences = 4, ContextPerSequence = 256, BatchTokens = 512, Threads = 1 });
        var tokens = Texts.Select(t => model.Vocabulary.Tokenize(t, addSpecial: true)).ToArray();
        var embeddings = embedder.Embed(tokens);
        for (int s = 0; s < Texts.Length; s++)
        {
            Assert.Equal(d, embeddings[s].Length);
            float[] logits = Logits(model, tokens[s]);
            for (int v = 0; v < model.Vocabulary.Count; v++)
            {
                double dot = 0;
                for (int k = 0; k < d; k++) dot += output[v * d + k] * embeddings[s][k];
                Assert.True(Math.Abs(dot - logits[v]) <= 1e-3 * (1 + Math.Abs(logits[v])), $"text {s}, token {v}: {dot} vs {logits[v]}");
            }
        }
    }

    [Fact]
    public void A_sequence_embeds_the_same_alone_or_packed_with_others_and_across_calls()
    {
        var model = TestModels.PeakedModel;
        var tokens = Texts.Select(t => (IReadOnlyList<int>)model.Vocabulary.Tokenize(t, addSpecial: true)).ToArray();
        using var packed = new LastTokenEmbedder(model, new EmbedderOptions { Sequences = 2, ContextPerSequence = 256, BatchTokens = 256, Threads = 1 });
        var together = packed.Embed(tokens);
        // Unrelated texts share only BOS: not worth a decode call of its own, so every token is evaluated with its text.
        Assert.Equal(tokens.Sum(t => t.Count), packed.TokensDecoded);
        for (int s = 0; s < tokens.Length; s++)
        {
            var alone = packed.Embed([tokens[s]])[0];
            for (int k = 0; k < alone.Length; k++) Assert.Equal(alone[k], together[s][k], 1e-4f);
        }
        Assert.Throws<LlamaException>(() => packed.Embed([Enumerable.Repeat(65, 300).ToArray()]));
        Assert.Throws<ArgumentException>(() => packed.Embed([Array.Empty<int>()]));
    }

    [Theory]
    // Replies of 64+ tokens run through the same flash-attention kernel as the whole sequence alone: equal bits.
    // Shorter ones run through ggml's one-query kernel, which sums V in f16: ~1e-3 of the scale apart.
    [InlineData(false, 0.0)]
    [InlineData(true, 3e-3)]
    public void Replies_to_one_prompt_embed_as_they_do_alone_with_the_prompt_evaluated_once(bool shortReplies, double tolerance)
    {
        var model = TestModels.PeakedModel;
        var prompt = model.Vocabulary.Tokenize("A prompt that every reply below starts with, as K candidates do: ", addSpecial: true);
        string[] replies = shortReplies ? ["yes.", "no, not at all.", "", "ünï 🦙 and more"] : [.. "abcd".Select(c => new string(c, 70))];
        var sequences = replies.Select(r => (IReadOnlyList<int>)[.. prompt, .. model.Vocabulary.Tokenize(r, addSpecial: false)]).ToArray();
        using var grouped = new LastTokenEmbedder(model, new EmbedderOptions { Sequences = 4, ContextPerSequence = 256, BatchTokens = 256, Threads = 1 });
        var together = grouped.Embed(sequences);

        // Every token once, the prompt's included; the empty reply leaves the prompt's last token to its own sequence.
        int shared = shortReplies ? prompt.Length - 1 : prompt.Length;
        Assert.Equal(shared + sequences.Sum(s => s.Count - shared), grouped.TokensDecoded);
        using var alone = new LastTokenEmbedder(model, new EmbedderOptions { Sequences = 1, ContextPerSequence = 256, BatchTokens = 256, Threads = 1 });
        for (int s = 0; s < sequences.Length; s++)
        {
            var expected = alone.Embed([sequences[s]])[0];
            double scale = expected.Max(Math.Abs);
            for (int k = 0; k < expected.Length; k++)
                Assert.True(Math.Abs(expected[k] - together[s][k]) <= tolerance * scale, $"reply {s}, element {k}: {together[s][k]} vs {expected[k]} alone");
        }
        Assert.Equal(sequences.Sum(s => s.Count), alone.TokensDecoded);
    }
}
