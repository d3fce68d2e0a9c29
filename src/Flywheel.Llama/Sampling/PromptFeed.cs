namespace Flywheel.Llama.Sampling;

/// <summary>A prompt being evaluated into one slot's KV stream, a chunk per step.</summary>
internal sealed class PromptFeed(int slot, IReadOnlyList<int> prompt)
{
    public int Slot { get; } = slot;
    public IReadOnlyList<int> Prompt { get; } = prompt;

    /// <summary>Prompt tokens already in the batch of an earlier step.</summary>
    public int Fed { get; set; }

    public bool Done => Fed == Prompt.Count;

    /// <summary>Prompt tokens this step's batch takes.</summary>
    public int Take { get; set; }

    /// <summary>Where the last prompt token's logits are in this step's batch, or -1.</summary>
    public int LogitsIndex { get; set; } = -1;
}
