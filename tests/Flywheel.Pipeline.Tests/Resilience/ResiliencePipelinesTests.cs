using Flywheel.Pipeline.Resilience;
using Polly.Timeout;

namespace Flywheel.Pipeline.Tests.Resilience;

public class ResiliencePipelinesTests
{
    private static readonly ResilienceOptions Tiny = new() { BackendTimeout = TimeSpan.FromMilliseconds(20), Retries = 1, RetryDelay = TimeSpan.Zero };

    [Fact]
    public void A_backend_call_that_hangs_times_out_after_its_retries()
    {
        var log = new List<string>();
        var pipelines = new ResiliencePipelines(log.Add, Tiny);
        int attempts = 0;
        Assert.Throws<TimeoutRejectedException>(() => pipelines.Backend.Execute(token =>
        {
            attempts++;
            // A generous wait only turns a missing timeout into a failure.
            Assert.True(token.WaitHandle.WaitOne(TimeSpan.FromMinutes(1)), "the hanging call was never timed out");
            token.ThrowIfCancellationRequested();
        }));
        Assert.Equal(2, attempts);
        Assert.Single(log, l => l.StartsWith("retrying a model-backend call", StringComparison.Ordinal));
    }

    [Fact]
    public void A_training_that_outlasts_the_backend_timeout_is_not_cancelled()
    {
        var pipelines = new ResiliencePipelines(_ => { }, Tiny);
        pipelines.Training.Execute(token => Assert.False(token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(500)), "the training was cancelled"));
    }

    [Fact]
    public void Options_out_of_range_are_refused_naming_the_option()
    {
        Assert.Equal("BackendTimeout", Assert.Throws<ArgumentOutOfRangeException>(() => new ResiliencePipelines(_ => { }, Tiny with { BackendTimeout = TimeSpan.FromMilliseconds(5) })).ParamName);
        Assert.Equal("Retries", Assert.Throws<ArgumentOutOfRangeException>(() => new ResiliencePipelines(_ => { }, Tiny with { Retries = 0 })).ParamName);
        Assert.Equal("RetryDelay", Assert.Throws<ArgumentOutOfRangeException>(() => new ResiliencePipelines(_ => { }, Tiny with { RetryDelay = TimeSpan.FromSeconds(-1) })).ParamName);
    }
}
