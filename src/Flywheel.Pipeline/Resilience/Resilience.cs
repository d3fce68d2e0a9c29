using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace Flywheel.Pipeline.Resilience;

/// <summary>
/// Polly pipelines: file I/O that can fail transiently (a full or busy disk, a network share) is retried with jittered
/// exponential backoff; model-backend calls are retried too, with a timeout and a circuit breaker so a broken backend
/// stops the run instead of being hammered. Every retry is logged.
/// </summary>
public sealed class ResiliencePipelines
{
    public ResiliencePipelines(Action<string> log, TimeSpan? backendTimeout = null, int retries = 3, TimeSpan? baseDelay = null)
    {
        ArgumentNullException.ThrowIfNull(log);
        var delay = baseDelay ?? TimeSpan.FromMilliseconds(200);
        RetryStrategyOptions Retry(PredicateBuilder<object> handle, string what) => new()
        {
            ShouldHandle = handle,
            MaxRetryAttempts = retries,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = delay,
            OnRetry = a =>
            {
                log($"retrying {what} (attempt {a.AttemptNumber + 1} of {retries + 1}) after: {a.Outcome.Exception?.Message}");
                return default;
            },
        };

        Io = new ResiliencePipelineBuilder()
            .AddRetry(Retry(new PredicateBuilder().Handle<IOException>(e => e is not FileNotFoundException and not DirectoryNotFoundException), "I/O"))
            .Build();
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
            .AddTimeout(backendTimeout ?? TimeSpan.FromMinutes(30))
            .Build();
    }

    /// <summary>For reading and writing run files.</summary>
    public ResiliencePipeline Io { get; }

    /// <summary>For calls into a model backend (sampling, scoring, training).</summary>
    public ResiliencePipeline Backend { get; }
}
