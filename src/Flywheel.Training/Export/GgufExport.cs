using Flywheel.Llama.Gguf;
using Flywheel.Training.Model;

namespace Flywheel.Training.Export;

/// <summary>
/// Writes a trained decoder as a GGUF llama.cpp loads: the source file's metadata (tokenizer and chat template
/// included) in its order, and its tensors in their order and types, the trained ones (LoRA merged) replaced by their
/// new values. Tensors that are not part of the decoder (a reward head) stay out: llama.cpp refuses unexpected tensors.
/// </summary>
internal static class GgufExport
{
    internal static void Write(GgufFile source, DecoderModel model, string path, string? name)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var changed = model.ChangedWeights.ToHashSet();
        var writer = new GgufWriter { Alignment = source.Alignment };
        foreach (var (key, value) in source.Metadata) writer.Set(key, value);
        if (name is not null) writer.Set("general.name", GgufValue.Of(name));
        foreach (var t in source.Tensors)
        {
            if (changed.Contains(t.Name)) writer.AddTensor(t.Name, t.Shape, model.Export(t.Name), t.Type);
            else writer.AddTensorBytes(t.Name, t.Shape, t.Type, source.ReadTensorBytes(t));
        }
        writer.WriteTo(path);
    }
}
