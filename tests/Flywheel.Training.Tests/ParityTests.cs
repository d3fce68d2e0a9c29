using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Llama.Gguf;
using Flywheel.Llama.Contexts;
using LLama.Native;
using Flywheel.Training.Data;
using Flywheel.Training.Sft;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Flywheel.Training.Tests;

/// <summary>The trainer's decoder computes what llama.cpp computes: everything else rests on this.</summary>
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
    [InlineData("llama", false, false, false)]
    [InlineData("llama", true, true, false)]
    [InlineData("qwen2", true, false, false)]
    [InlineData("qwen2", false, false, false)]
    [InlineData("llama", false, true, true)]
    [InlineData("qwen2", true, false, true)]
    public void Logits_and_last_token_hidden_states_equal_llama_cpp(string architecture, bool tied, bool ropeFreqs, bool llama3Vocabulary)
    {
        var hp = TinyModels.Small with { Architecture = architecture, EmbeddingLength = 64, TiedOutput = tied };
        string path = llama3Vocabulary
            ? TinyModels.CreateWithVocabulary("parity-vocab.gguf", hp, seed: 3, TinyModels.Llama3Vocabulary, initStd: 0.2f)
            : TinyModels.Create("parity.gguf", hp, seed: 3, initStd: 0.2f);
        if (ropeFreqs) path = TinyModels.WithRopeFreqs(path);
        using var model = LlamaModel.Load(path);
        var sequences = Texts.Select(t => model.Vocabulary.Tokenize(t, addSpecial: true)).ToArray();
        if (llama3Vocabulary) Assert.Equal(128_256, model.Vocabulary.Count);

        // Every sequence in one packed batch: attention must keep them apart.
        using var trainer = new SftTrainer(path, new SftOptions { Device = ComputeDevice.Cpu, Threads = 1, MaxLength = 128, Template = llama3Vocabulary ? ChatTemplate.Named("llama3") : null });
        Assert.Equal(ropeFreqs, trainer.Session.Config.HasRopeFreqs);
        var batch = new PackedBatch(sequences);
        Assert.True(batch.Rows < sequences.Length);
        float[] hidden, logits;
        using (no_grad())
        {
            using var h = trainer.Session.Model.Hidden(batch);
            using var l = h.matmul(trainer.Session.Model.OutputWeight.t());
            hidden = GradientCheckTests.Values(h);
            logits = GradientCheckTests.Values(l);
        }

        int v = model.Vocabulary.Count, d = hp.EmbeddingLength;
        double worstLogits = 0, worstHidden = 0;
        for (int s = 0; s < sequences.Length; s++)
        {
            var (expectedLogits, expectedHidden) = LlamaCpp(model, sequences[s]);
            for (int t = 0; t < sequences[s].Length; t++)
                worstLogits = Math.Max(worstLogits, RelativeError(logits.AsSpan((batch.Offsets[s] + t) * v, v), expectedLogits[t]));
            worstHidden = Math.Max(worstHidden, RelativeError(hidden.AsSpan(batch.Last(s) * d, d), expectedHidden));
        }
        output.WriteLine($"{architecture} tied={tied} rope_freqs={ropeFreqs} vocabulary={v}: max relative error logits {worstLogits:E2}, last-token hidden state {worstHidden:E2}");
        Assert.True(worstLogits < 1e-4, $"logits differ from llama.cpp's by {worstLogits:E2}");
        Assert.True(worstHidden < 1e-4, $"hidden states differ from llama.cpp's by {worstHidden:E2}");
    }
}
