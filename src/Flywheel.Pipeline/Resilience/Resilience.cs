using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace Flywheel.Pipeline.Resilience;

/// <summary>Options for <see cref="ResiliencePipelines"/>, validated when the pipelines are built.</summary>
public sealed record ResilienceOptions
{
    /// <summary>
    /// How long one model-backend call (scoring one prompt's candidates) may take before it is abandoned and retried:
    /// 10 ms to 24 h, Polly's bounds. Trainings have none: they take as long as they take.
    /// </summary>
    public TimeSpan BackendTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Retries after a failed attempt, at least 1.</summary>
    public int Retries { get; init; } = 3;

    /// <summary>The first retry's delay, 0 to 24 h, doubling (with jitter) for each retry after it.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    internal void Validate()
    {
        // Polly's own checks would throw later, naming its option types rather than ours.
        if (BackendTimeout <= TimeSpan.FromMilliseconds(10) || BackendTimeout >= TimeSpan.FromHours(24))
            throw new ArgumentOutOfRangeException(nameof(BackendTimeout), BackendTimeout, "must be more than 10 ms and less than 24 h");
        ArgumentOutOfRangeException.ThrowIfLessThan(Retries, 1, nameof(Retries));
        if (RetryDelay < TimeSpan.Zero || RetryDelay > TimeSpan.FromHours(24))
            throw new ArgumentOutOfRangeException(nameof(RetryDelay), RetryDelay, "must be 0 to 24 h");
    }
}

/// <summary>
/// Polly pipelines: file I/O that can fail transiently (a full or busy disk, a network share) is retried with jittered
/// exponential backoff, and so is a training, from its last checkpoint; single model-backend calls are retried too,
/// with a timeout and a circuit breaker so a hung or broken backend stops the run instead of being hammered. Every
/// retry is logged.
/// </summary>
public sealed class ResiliencePipelines
{
    public ResiliencePipelines(Action<string> log, ResilienceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(log);
        options ??= new ResilienceOptions();
        options.Validate();
        RetryStrategyOptions Retry(PredicateBuilder<object> handle, string what) => new()
        {
            ShouldHandle = handle,
            MaxRetryAttempts = options.Retries,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = options.RetryDelay,
            OnRetry = a =>
            {
                log($"retrying {what} (attempt {a.AttemptNumber + 1} of {options.Retries + 1}) after: {a.Outcome.Exception?.Message}");
                return default;
            },
        };

        PredicateBuilder<object> TransientIo() => new PredicateBuilder().Handle<IOException>(e => e is not FileNotFoundException and not DirectoryNotFoundException);
        Io = new ResiliencePipelineBuilder().AddRetry(Retry(TransientIo(), "I/O")).Build();
        Training = new ResiliencePipelineBuilder().AddRetry(Retry(TransientIo(), "a training")).Build();
        var backendFailures = new PredicateBuilder().Handle<IOException>().Handle<TimeoutRejectedException>();
        Backend = new ResiliencePipelineBuilder()
            .AddRetry(Retry(backendFailures, "a model-backend call"))
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = backendFailures,
                FailureRatio = 0.5,
                MinimumThroughput = 4,
                BreakDuration = TimeSpan.FromSeconds(30),
                OnOpened = _ =>
                {
                    log("model backend failing repeatedly: circuit opened");
                    return default;
                },
            })
            .AddTimeout(options.BackendTimeout)
            .Build();
    }

    /// <summary>For reading and writing run files.</summary>
    public ResiliencePipeline Io { get; }

    /// <summary>
    /// For whole trainings (reward model, SFT): a transient I/O failure (a checkpoint that could not be written) is
    /// retried, resuming from the last checkpoint; no timeout, since a real training runs for hours.
    /// </summary>
    public ResiliencePipeline Training { get; }

    /// <summary>For single calls into a model backend that can hang (scoring a prompt's candidates).</summary>
    public ResiliencePipeline Backend { get; }
}
