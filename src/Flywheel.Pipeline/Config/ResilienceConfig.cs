using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Flywheel.Pipeline.Resilience;

namespace Flywheel.Pipeline.Config;

/// <summary>Retries and the timeout of single calls that can fail transiently or hang; none of it changes a row, so it is not part of the run's identity.</summary>
public sealed record ResilienceConfig
{
    [Description("Seconds one model-backend call (scoring one prompt's candidates) may take before it is abandoned and retried; trainings have no timeout, they take as long as they take.")]
    [Range(0.01, 86400d, MinimumIsExclusive = true, MaximumIsExclusive = true)] // Polly's bounds: more than 10 ms, less than a day
    public double BackendTimeoutSeconds { get; init; } = 1800;

    [Description("Retries after a failed backend call or file operation, with jittered exponential backoff.")]
    [Range(1, int.MaxValue)]
    public int Retries { get; init; } = 3;

    [Description("Seconds before the first retry; each retry after waits about twice as long.")]
    [Range(0d, 86400d)]
    public double RetryDelaySeconds { get; init; } = 0.2;

    internal ResilienceOptions ToOptions() => new()
    {
        BackendTimeout = TimeSpan.FromSeconds(BackendTimeoutSeconds),
        Retries = Retries,
        RetryDelay = TimeSpan.FromSeconds(RetryDelaySeconds),
    };
}
