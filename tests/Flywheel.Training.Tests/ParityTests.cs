using Flywheel.Llama;
using Flywheel.Llama.Gguf;
using Flywheel.Llama.Contexts;
using LLama.Native;
using Flywheel.Training.Graph;
using Xunit.Abstractions;

namespace Flywheel.Training.Tests;

/// <summary>The trainer's graph computes what llama.cpp computes: everything else rests on this.</summary>
public class ParityTests(ITestOutputHelper output)
{
    private static readonly string[] Texts = ["Hello there, how are you?", "2+2=4", "x", "A somewhat longer sequence of bytes for attention to read."];

    /// <summary>
    /// A llama.cpp context that keeps K and V in f32: its default f16 cache rounds them (about 3e-3 relative on these
    /// logits), which would hide a real difference in the graph.
    /// </summary>
    internal static SafeLLamaContextHandle F32Context(LlamaModel model, bool embeddings)
    {
        var p = LLamaContextParams.Default();
        p.n_ctx = 256;
        p.n_batch = p.n_ubatch = 256;
        p.n_threads = p.n_threads_batch = 1;
        p.type_k = p.type_v = GGMLType.GGML_TYPE_F32;
        p.llama_flash_attn_type = LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
        p.embeddings = embeddings;
        if (embeddings) p.llama_pooling_type = LLamaPoolingType.Last;
        return EngineContext.Create(model, p, "256 tokens with an f32 KV cache");
    }

    /// <summary>llama.cpp's logits for every position and its last-token final-norm hidden state (LAST pooling).</summary>
    private static (float[][] Logits, float[] Hidden) LlamaCpp(LlamaModel model, int[] tokens)
    {
        var batch = new LLamaBatch();
        using var ctx = F32Context(model, embeddings: false);
        for (int i = 0; i < tokens.Length; i++) batch.Add(tokens[i], i, (LLamaSeqId)0, true);
        EngineContext.Decode(ctx, batch);
        int v = model.Vocabulary.Count;
        var logits = Enumerable.Range(0, tokens.Length).Select(i => ctx.GetLogitsIth(i)[..v].ToArray()).ToArray();
        using var embed = F32Context(model, embeddings: true);
        EngineContext.Decode(embed, batch);
        var hidden = embed.GetEmbeddingsSeq((LLamaSeqId)0)[..model.EmbeddingLength].ToArray();
        return (logits, hidden);
    }

    internal static double RelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        double diff = 0, scale = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs(actual[i] - expected[i]));
            scale = Math.Max(scale, Math.Abs(expected[i]));
        }
        return diff / scale;
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void Logits_and_last_token_hidden_states_equal_llama_cpp(bool tied, bool ropeFreqs)
    {
        var hp = TinyModels.Small with { EmbeddingLength = 64, TiedOutput = tied };
        string path = TinyModels.Create("parity.gguf", hp, seed: 3, initStd: 0.2f);
        if (ropeFreqs) path = TinyModels.WithRopeFreqs(path);
        using var model = LlamaModel.Load(path);
        var sequences = Texts.Select(t => model.Vocabulary.Tokenize(t, addSpecial: true)).ToArray();

        using var session = ModelSession.Open(path, new TrainingOptions { Device = ComputeDevice.Cpu, Threads = 1 }, withOutput: true, _ => [], new HashSet<string>());
        Assert.Equal(ropeFreqs, session.Architecture.HasRopeFreqs);
        var batch = TokenBatch.Pad(sequences, hp.VocabSize);
        int[] last = Enumerable.Range(0, batch.Count).Select(batch.LastRow).ToArray();
        IntPtr lastHidden = IntPtr.Zero;
        using var g = session.Run("parity", train: false, g =>
        {
            IntPtr hidden = session.Graph.Hidden(g, batch);
            lastHidden = GraphContext.Output(g.GetRows(hidden, g.InputI32("last", last, last.Length)));
            g.Expand(lastHidden);
            return session.Graph.Logits(g, hidden);
        });
        float[] logits = GraphContext.Read(g.Result);
        float[] hiddenRows = GraphContext.Read(lastHidden);

        int v = hp.VocabSize, d = hp.EmbeddingLength;
        double worstLogits = 0, worstHidden = 0;
        for (int s = 0; s < sequences.Length; s++)
        {
            var (expectedLogits, expectedHidden) = LlamaCpp(model, sequences[s]);
            for (int t = 0; t < sequences[s].Length; t++)
                worstLogits = Math.Max(worstLogits, RelativeError(logits.AsSpan(batch.Row(s, t) * v, v), expectedLogits[t]));
            worstHidden = Math.Max(worstHidden, RelativeError(hiddenRows.AsSpan(s * d, d), expectedHidden));
        }
        output.WriteLine($"tied={tied} rope_freqs={ropeFreqs}: max relative error logits {worstLogits:E2}, last-token hidden state {worstHidden:E2}");
        Assert.True(worstLogits < 1e-4, $"logits differ from llama.cpp's by {worstLogits:E2}");
        Assert.True(worstHidden < 1e-4, $"hidden states differ from llama.cpp's by {worstHidden:E2}");
    }
}
