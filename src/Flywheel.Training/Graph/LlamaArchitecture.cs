using Flywheel.Llama;
using Flywheel.Llama.Gguf;

namespace Flywheel.Training.Graph;

/// <summary>
/// What the trainer's graph needs to know about a llama-architecture GGUF beyond its shape: attention scale and RoPE
/// settings as llama.cpp derives them. <see cref="FromGguf"/> refuses, with a message naming the file, anything the
/// graph would compute differently from llama.cpp (quantized weights, biases, experts, YaRN, partial rotary).
/// </summary>
internal sealed record LlamaArchitecture(
    LlamaHyperparameters Hyperparameters,
    float AttentionScale,
    float RopeFreqScale,
    int RopeContextOriginal,
    bool HasRopeFreqs)
{
    internal const string RopeFreqs = "rope_freqs.weight";

    internal static LlamaArchitecture FromGguf(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var hp = LlamaHyperparameters.FromGguf(file);
        try { hp.Validate(); }
        catch (ArgumentException e) { throw new LlamaException($"{file.Path}: {e.Message}"); }
        var meta = file.Metadata;
        long? Int(string key) => meta.TryGetValue(key, out var v) ? v.AsInt64() : null;
        double? Real(string key) => meta.TryGetValue(key, out var v) ? v.AsDouble() : null;

        var quantized = file.Tensors.Where(t => t.Type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16)).ToList();
        if (quantized.Count > 0)
            throw new LlamaException($"{file.Path}: quantized models cannot be trained ({quantized[0].Name} is {quantized[0].Type}); " +
                "start from the F32, F16 or BF16 GGUF of the model");
        if (Int("llama.expert_count") is > 0) throw new LlamaException($"{file.Path}: mixture-of-experts models are not supported for training");
        foreach (var key in new[] { "llama.attention.key_length", "llama.attention.value_length", "llama.rope.dimension_count" })
            if (Int(key) is { } n && n != hp.HeadDim)
                throw new LlamaException($"{file.Path}: {key} = {n} differs from the head dimension {hp.HeadDim}; such models are not supported for training");

        string scaling = meta.TryGetValue("llama.rope.scaling.type", out var s) ? s.AsString() : "linear";
        double factor = Real("llama.rope.scaling.factor") ?? Real("llama.rope.scale_linear") ?? 0;
        float freqScale = scaling switch
        {
            "none" => 1f,
            "linear" => factor == 0 ? 1f : (float)(1 / factor),
            _ => throw new LlamaException($"{file.Path}: RoPE scaling '{scaling}' is not supported for training (none, linear and rope_freqs are)"),
        };

        var expected = hp.TensorShapes().ToDictionary(t => t.Name, t => t.Shape);
        expected[RopeFreqs] = [hp.HeadDim / 2];
        foreach (var t in file.Tensors)
        {
            if (!expected.TryGetValue(t.Name, out var shape))
                throw new LlamaException($"{file.Path}: tensor '{t.Name}' is not part of the Llama graph the trainer builds (biases and extra tensors are not supported)");
            if (!shape.SequenceEqual(t.Shape))
                throw new LlamaException($"{file.Path}: tensor '{t.Name}' has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", shape)}]");
        }
        foreach (var name in hp.TensorShapes().Select(t => t.Name))
            _ = file.GetTensor(name);

        return new LlamaArchitecture(hp,
            AttentionScale: Real("llama.attention.scale") is { } scale and not 0 ? (float)scale : 1f / MathF.Sqrt(hp.HeadDim),
            RopeFreqScale: freqScale,
            RopeContextOriginal: (int)(Int("llama.rope.scaling.original_context_length") ?? hp.ContextLength),
            HasRopeFreqs: file.FindTensor(RopeFreqs) is not null);
    }
}
