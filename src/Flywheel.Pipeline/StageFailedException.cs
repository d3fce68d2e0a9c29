namespace Flywheel.Pipeline;

/// <summary>A stage failed, or a round between its stages (<see cref="Stage"/> null): names the round, the stage and the cause (the inner exception).</summary>
public sealed class StageFailedException(int round, string? stage, Exception inner)
    : Exception(stage is null ? $"round {round}: {inner.Message}" : $"round {round}, stage {stage}: {inner.Message}", inner)
{
    public int Round { get; } = round;
    public string? Stage { get; } = stage;
}
