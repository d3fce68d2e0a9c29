using Flywheel.Llama.Embedding;
using Flywheel.Llama.Gguf;
using Flywheel.Llama.Native;

namespace Flywheel.Llama.Tests;

public class EmbedderTests
{
    private static readonly string[] Texts = ["Hello there.", "A longer sequence of text for the embedder to read.", "x", "ünï 🦙"];

    /// <summary>llama.cpp's own last-token logits, from a plain generation context.</summary>
    private static unsafe float[] Logits(LlamaModel model, int[] tokens)
    {
        using var ctx = LlamaContext.Create(model, 1, 256, 256, 1, embeddings: false);
        using var batch = new SafeLlamaBatchHandle(256, 1);
        for (int i = 0; i < tokens.Length; i++) batch.Add(tokens[i], i, 0, i == tokens.Length - 1);
        LlamaContext.Decode(ctx, batch);
        return new ReadOnlySpan<float>(LlamaNative.llama_get_logits_ith(ctx, tokens.Length - 1), model.Vocabulary.Count).ToArray();
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
        for (int s = 0; s < tokens.Length; s++)
        {
            var alone = packed.Embed([tokens[s]])[0];
            for (int k = 0; k < alone.Length; k++) Assert.Equal(alone[k], together[s][k], 1e-4f);
        }
        Assert.Throws<LlamaException>(() => packed.Embed([Enumerable.Repeat(65, 300).ToArray()]));
        Assert.Throws<ArgumentException>(() => packed.Embed([Array.Empty<int>()]));
    }
}
