namespace Flywheel.Llama;

/// <summary>Options for <see cref="LlamaModel.Load"/>.</summary>
public sealed record ModelOptions
{
    /// <summary>Layers to offload to the GPU: -1 for all (default), 0 for none. Ignored without a GPU.</summary>
    public int GpuLayers { get; init; } = -1;

    /// <summary>Load the vocabulary only (tokenize, detokenize, chat templates), no weights.</summary>
    public bool VocabularyOnly { get; init; }
}
