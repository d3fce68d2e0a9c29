namespace Flywheel.Pipeline;

/// <summary>Work on one item of a stage's stream (a prompt, a part file) failed: names the item and the cause (the inner exception).</summary>
public sealed class ItemFailedException(string item, Exception inner) : Exception($"{item}: {inner.Message}", inner)
{
    /// <summary>The item in the user's terms: "prompt 17+25 (#3 of selection.jsonl)".</summary>
    public string Item { get; } = item;
}
