using Flywheel.Llama.Gguf;
using Flywheel.Training.Native;

namespace Flywheel.Training.Graph;

/// <summary>
/// The Llama forward pass as llama.cpp's llama architecture computes it, built from ggml ops that all have a backward
/// pass: token embeddings, per layer RMSNorm → attention (GQA by mul_mat broadcasting, RoPE in NORM mode with optional
/// rope_freqs, causal softmax) → residual → RMSNorm → SwiGLU in split form → residual; then the final RMSNorm.
/// </summary>
internal sealed class LlamaGraph
{
    internal const string TokenEmbedding = "token_embd.weight";
    internal const string OutputNorm = "output_norm.weight";
    internal const string Output = "output.weight";

    private const int RopeModeNorm = 0;
    private readonly ParameterStore _weights;

    internal LlamaGraph(LlamaArchitecture architecture, ParameterStore weights)
    {
        Architecture = architecture;
        _weights = weights;
    }

    internal LlamaArchitecture Architecture { get; }

    private LlamaHyperparameters Hp => Architecture.Hyperparameters;

    /// <summary>
    /// The backbone's tensors read from <paramref name="file"/> as f32, plus output.weight when
    /// <paramref name="withOutput"/> (the token embeddings serve as the output when the file has none).
    /// </summary>
    internal static IEnumerable<ParameterSpec> ReadSpecs(GgufFile file, LlamaArchitecture architecture, bool withOutput, Func<string, bool> trainable)
    {
        ArgumentNullException.ThrowIfNull(file);
        foreach (var (name, shape) in architecture.Hyperparameters.TensorShapes())
        {
            if (name == Output && !withOutput) continue;
            yield return new ParameterSpec(name, shape, file.ReadTensorFloats(file.GetTensor(name)), trainable(name));
        }
        if (architecture.HasRopeFreqs)
        {
            var t = file.GetTensor(LlamaArchitecture.RopeFreqs);
            yield return new ParameterSpec(t.Name, t.Shape, file.ReadTensorFloats(t), Trainable: false);
        }
    }

    /// <summary>The layer index of a block tensor ("blk.3.attn_q.weight" → 3), or -1.</summary>
    internal static int LayerOf(string name)
    {
        if (!name.StartsWith("blk.", StringComparison.Ordinal)) return -1;
        int dot = name.IndexOf('.', 4);
        return int.Parse(name.AsSpan(4, dot - 4), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The final-norm hidden states of every token of the batch: [n_embd, Count·Length].</summary>
    internal IntPtr Hidden(GraphContext g, TokenBatch batch)
    {
        ArgumentNullException.ThrowIfNull(g);
        ArgumentNullException.ThrowIfNull(batch);
        int L = batch.Length, B = batch.Count, T = L * B;
        int d = Hp.EmbeddingLength, hd = Hp.HeadDim, H = Hp.Heads, Hkv = Hp.KvHeads;
        if (L > Hp.ContextLength) throw new ArgumentException($"sequences of {L} tokens exceed the model's context length {Hp.ContextLength}");

        var positions = new int[T];
        for (int b = 0; b < B; b++) for (int t = 0; t < L; t++) positions[b * L + t] = t;
        var mask = new float[L * L];
        for (int q = 0; q < L; q++) for (int k = q + 1; k < L; k++) mask[q * L + k] = float.NegativeInfinity;

        IntPtr tokens = g.InputI32("tokens", batch.Tokens, T);
        IntPtr pos = g.InputI32("positions", positions, T);
        IntPtr kqMask = g.InputF32("kq_mask", mask, L, L);
        IntPtr ropeFreqs = Architecture.HasRopeFreqs ? W(LlamaArchitecture.RopeFreqs) : IntPtr.Zero;

        IntPtr x = g.GetRows(W(TokenEmbedding), tokens);
        for (int il = 0; il < Hp.Layers; il++)
        {
            string blk = $"blk.{il}.";
            IntPtr h = g.Mul(g.RmsNorm(x, Hp.RmsNormEpsilon), W(blk + "attn_norm.weight"));
            IntPtr q = g.Reshape(g.MulMat(W(blk + "attn_q.weight"), h), hd, H, T);
            IntPtr k = g.Reshape(g.MulMat(W(blk + "attn_k.weight"), h), hd, Hkv, T);
            IntPtr v = g.MulMat(W(blk + "attn_v.weight"), h);
            // RoPE on 3-D [head_dim, heads, tokens]: the 4-D layout would send its backward to the CPU under CUDA.
            q = Rope(g, q, pos, ropeFreqs);
            k = Rope(g, k, pos, ropeFreqs);
            // Heads and sequences share dim 2 (head fastest), so mul_mat's broadcast maps query head h of sequence b
            // to KV head h/(H/Hkv) of the same sequence, as llama.cpp's GQA does, and its backward supports it (dim 3 = 1).
            q = g.Reshape(g.Cont(g.Permute(g.Reshape(q, hd, H, L, B), 0, 2, 1, 3)), hd, L, H * B);
            k = g.Reshape(g.Cont(g.Permute(g.Reshape(k, hd, Hkv, L, B), 0, 2, 1, 3)), hd, L, Hkv * B);
            IntPtr vt = g.Reshape(g.Cont(g.Permute(g.Reshape(v, hd, Hkv, L, B), 1, 2, 0, 3)), L, hd, Hkv * B);
            IntPtr kq = g.SoftMax(g.MulMat(k, q), kqMask, Architecture.AttentionScale); // [L_k, L_q, H·B]
            IntPtr o = g.MulMat(vt, kq); // [hd, L_q, H·B]
            o = g.Reshape(g.Cont(g.Permute(g.Reshape(o, hd, L, H, B), 0, 2, 1, 3)), d, T);
            x = g.Add(x, g.MulMat(W(blk + "attn_output.weight"), o));

            h = g.Mul(g.RmsNorm(x, Hp.RmsNormEpsilon), W(blk + "ffn_norm.weight"));
            IntPtr ffn = g.SwigluSplit(g.MulMat(W(blk + "ffn_gate.weight"), h), g.MulMat(W(blk + "ffn_up.weight"), h));
            x = g.Add(x, g.MulMat(W(blk + "ffn_down.weight"), ffn));
        }
        return g.Mul(g.RmsNorm(x, Hp.RmsNormEpsilon), W(OutputNorm));
    }

    /// <summary>Logits [n_vocab, rows] of hidden-state rows [n_embd, rows], through output.weight or the tied embeddings.</summary>
    internal IntPtr Logits(GraphContext g, IntPtr hidden)
    {
        ArgumentNullException.ThrowIfNull(g);
        return g.MulMat(W(_weights.Contains(Output) ? Output : TokenEmbedding), hidden);
    }

    // No YaRN (ext_factor 0, attn_factor 1), as llama.cpp sets them for none/linear scaling; beta values are then unused.
    private IntPtr Rope(GraphContext g, IntPtr a, IntPtr positions, IntPtr freqs) =>
        GgmlTensorNative.ggml_rope_ext(g.Ctx, a, positions, freqs, Hp.HeadDim, RopeModeNorm,
            Architecture.RopeContextOriginal, Hp.RopeFreqBase, Architecture.RopeFreqScale,
            extFactor: 0f, attnFactor: 1f, betaFast: 32f, betaSlow: 1f);

    private IntPtr W(string name) => _weights[name].Tensor;
}
