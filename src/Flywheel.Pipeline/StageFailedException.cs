namespace Flywheel.Pipeline;

/// <summary>A stage failed: names the round, the stage and the cause (the inner exception).</summary>
public sealed class StageFailedException(int round, string stage, Exception inner)
    : Exception($"round {round}, stage {stage}: {inner.Message}", inner)
{
    public int Round { get; } = round;
    public string Stage { get; } = stage;
}
