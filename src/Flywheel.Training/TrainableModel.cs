using Flywheel.Llama.Gguf;
using Flywheel.Training.Model;

namespace Flywheel.Training;

/// <summary>Whether the trainer can train a model: asked before a run starts, so that a model it refuses stops the run in seconds.</summary>
public static class TrainableModel
{
    /// <summary>
    /// Throws a <see cref="Llama.LlamaException"/> naming the file and the reason when the trainer cannot train the
    /// model at <paramref name="path"/> (quantized weights, experts, a rotary scheme it does not compute as llama.cpp does).
    /// </summary>
    public static void Check(string path) => _ = DecoderConfig.FromGguf(GgufFile.Open(path));
}
