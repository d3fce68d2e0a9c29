using Flywheel.Llama;
using Flywheel.Llama.Gguf;

namespace Flywheel.Training.Model;

/// <summary>How RoPE pairs a head's dimensions: llama.cpp's NORM mode (adjacent pairs) or NEOX (first half with second half).</summary>
internal enum RopeLayout
{
    AdjacentPairs,
    RotateHalf,
}

/// <summary>
/// What the trainer's decoder needs to know about a Llama-family GGUF beyond its shape: attention scale and RoPE as
/// llama.cpp derives them for the architecture. <see cref="FromGguf"/> refuses, with a message naming the file, what
/// the decoder would compute differently from llama.cpp (quantized weights, experts, YaRN, partial rotary, unknown tensors).
/// </summary>
internal sealed record DecoderConfig(
    LlamaHyperparameters Hyperparameters,
    RopeLayout Rope,
    float AttentionScale,
    float RopeFreqScale,
    bool HasRopeFreqs)
{
    internal const string TokenEmbedding = "token_embd.weight";
    internal const string OutputNorm = "output_norm.weight";
    internal const string Output = "output.weight";
    internal const string RopeFreqs = "rope_freqs.weight";

    internal static DecoderConfig FromGguf(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var hp = LlamaHyperparameters.FromGguf(file);
        try { hp.Validate(); }
        catch (ArgumentException e) { throw new LlamaException($"{file.Path}: {e.Message}"); }
        string a = hp.Architecture;
        var meta = file.Metadata;
        long? Int(string key) => meta.TryGetValue(key, out var v) ? v.AsInt64() : null;
        double? Real(string key) => meta.TryGetValue(key, out var v) ? v.AsDouble() : null;

        var quantized = file.Tensors.Where(t => t.Type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16)).ToList();
        if (quantized.Count > 0)
            throw new LlamaException($"{file.Path}: quantized models cannot be trained ({quantized[0].Name} is {quantized[0].Type}); " +
                "start from the F32, F16 or BF16 GGUF of the model");
        if (Int($"{a}.expert_count") is > 0) throw new LlamaException($"{file.Path}: mixture-of-experts models are not supported for training");
        foreach (var key in new[] { $"{a}.attention.key_length", $"{a}.attention.value_length", $"{a}.rope.dimension_count" })
            if (Int(key) is { } n && n != hp.HeadDim)
                throw new LlamaException($"{file.Path}: {key} = {n} differs from the head dimension {hp.HeadDim}; such models are not supported for training");

        string scaling = meta.TryGetValue($"{a}.rope.scaling.type", out var s) ? s.AsString() : "linear";
        double factor = Real($"{a}.rope.scaling.factor") ?? Real($"{a}.rope.scale_linear") ?? 0;
        float freqScale = scaling switch
        {
            "none" => 1f,
            "linear" => factor == 0 ? 1f : (float)(1 / factor),
            _ => throw new LlamaException($"{file.Path}: RoPE scaling '{scaling}' is not supported for training (none, linear and rope_freqs are)"),
        };

        var expected = hp.TensorShapes().ToDictionary(t => t.Name, t => t.Shape);
        // llama.cpp reads rope_freqs (Llama 3's frequency factors) for the llama architecture only.
        if (a == "llama") expected[RopeFreqs] = [hp.HeadDim / 2];
        foreach (var t in file.Tensors)
        {
            if (!expected.TryGetValue(t.Name, out var shape))
                throw new LlamaException($"{file.Path}: tensor '{t.Name}' is not part of the {a} decoder the trainer builds");
            if (!shape.SequenceEqual(t.Shape))
                throw new LlamaException($"{file.Path}: tensor '{t.Name}' has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", shape)}]");
        }
        foreach (var name in hp.TensorShapes().Select(t => t.Name))
            _ = file.GetTensor(name);

        return new DecoderConfig(hp,
            // llama.cpp's converter permutes Llama's q/k rows for adjacent pairs; Qwen2 keeps Hugging Face's rotate-half.
            Rope: a == "qwen2" ? RopeLayout.RotateHalf : RopeLayout.AdjacentPairs,
            AttentionScale: Real($"{a}.attention.scale") is { } scale and not 0 ? (float)scale : 1f / MathF.Sqrt(hp.HeadDim),
            RopeFreqScale: freqScale,
            HasRopeFreqs: file.FindTensor(RopeFreqs) is not null);
    }

    /// <summary>The layer index of a block tensor ("blk.3.attn_q.weight" → 3), or -1.</summary>
    internal static int LayerOf(string name)
    {
        if (!name.StartsWith("blk.", StringComparison.Ordinal)) return -1;
        int dot = name.IndexOf('.', 4);
        return int.Parse(name.AsSpan(4, dot - 4), System.Globalization.CultureInfo.InvariantCulture);
    }
}
