using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flywheel.Pipeline.Config;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace Flywheel.Pipeline.Sampling.Remote;

/// <summary>
/// One OpenAI-compatible server: its HTTP client, how much work it has outstanding, and its own Polly pipeline — a
/// timeout per request, retries with jittered backoff, and a circuit breaker that takes it out of rotation while it
/// keeps failing, so the other endpoints carry on. Counts what it sampled and how often it failed, for progress.
/// </summary>
internal sealed class OpenAiEndpoint : IDisposable
{
    private readonly HttpClient _http;
    private readonly ResiliencePipeline _pipeline;
    private readonly CircuitBreakerStateProvider _circuit = new();
    private readonly Stopwatch _since = new();
    private long _prompts, _tokens, _errors, _opened, _retokenized;

    public OpenAiEndpoint(EndpointConfig config, TimeSpan requestTimeout, Action<string> log)
    {
        Config = config;
        Name = config.Url.TrimEnd('/');
        // Polly's timeout bounds each request; HttpClient's own would cut across the retries.
        _http = new HttpClient { BaseAddress = new Uri(Name + "/"), Timeout = Timeout.InfiniteTimeSpan };
        if (ApiKey(config) is { } key) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var transient = new PredicateBuilder()
            .Handle<HttpRequestException>()
            .Handle<IOException>()
            .Handle<TimeoutRejectedException>()
            .Handle<JsonException>()
            .Handle<EndpointStatusException>(e => e.Transient);
        _pipeline = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = transient,
                MaxRetryAttempts = 2,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(250),
                OnRetry = a =>
                {
                    log($"endpoint {Name}: retrying (attempt {a.AttemptNumber + 2} of 3) after: {a.Outcome.Exception?.Message}");
                    return default;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = transient,
                FailureRatio = 0.5,
                MinimumThroughput = 3,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = TimeSpan.FromSeconds(10),
                StateProvider = _circuit,
                OnOpened = _ =>
                {
                    Interlocked.Increment(ref _opened);
                    log($"endpoint {Name}: failing repeatedly, taken out of rotation for 10 s (circuit open)");
                    return default;
                },
            })
            .AddTimeout(requestTimeout)
            .Build();
    }

    public EndpointConfig Config { get; }

    /// <summary>The base URL, as configured (without a trailing slash).</summary>
    public string Name { get; }

    /// <summary>Requests in flight (changed only by <see cref="EndpointPool"/>, under its lock).</summary>
    public int Outstanding { get; set; }

    public int Limit => Config.MaxConcurrency;

    /// <summary>Its circuit is open: it failed repeatedly and gets no new work until the break ends.</summary>
    public bool IsBroken => _circuit.CircuitState is CircuitState.Open or CircuitState.Isolated;

    public long Prompts => Interlocked.Read(ref _prompts);
    public long Tokens => Interlocked.Read(ref _tokens);
    public long Errors => Interlocked.Read(ref _errors);
    public long TimesOpened => Interlocked.Read(ref _opened);

    /// <summary>Candidates whose token ids did not spell their text, so were tokenized from it.</summary>
    public long RetokenizedCandidates => Interlocked.Read(ref _retokenized);

    /// <summary>Counts a candidate tokenized from its text; returns how many there have been.</summary>
    public long Retokenized() => Interlocked.Increment(ref _retokenized);

    /// <summary>Generated tokens per second since its first request.</summary>
    public double TokensPerSecond => Tokens / Math.Max(1e-9, _since.Elapsed.TotalSeconds);

    /// <summary>Where the token ids of its completions come from (logged once).</summary>
    public string? TokenIdSource { get; set; }

    public void Completed(long tokens)
    {
        Interlocked.Increment(ref _prompts);
        Interlocked.Add(ref _tokens, tokens);
    }

    /// <summary>POSTs <paramref name="body"/> to <paramref name="path"/> (relative to the base URL) through the pipeline; the parsed answer.</summary>
    public async Task<JsonDocument> PostAsync(string path, JsonObject body, CancellationToken ct)
    {
        lock (_since) if (!_since.IsRunning) _since.Start();
        string json = body.ToJsonString();
        return await _pipeline.ExecuteAsync(async token =>
        {
            try
            {
                using var content = new StringContent(json, Encoding.UTF8, "application/json");
                using var response = await _http.PostAsync(path, content, token);
                string text = await response.Content.ReadAsStringAsync(token);
                if (!response.IsSuccessStatusCode) throw new EndpointStatusException(Name, response.StatusCode, Shorten(text));
                return JsonDocument.Parse(text);
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                Interlocked.Increment(ref _errors);
                throw;
            }
        }, ct);
    }

    /// <summary>The API key from the environment variable the config names; null when it names none.</summary>
    public static string? ApiKey(EndpointConfig config) => config.ApiKeyEnv is { } env
        ? Environment.GetEnvironmentVariable(env) is { Length: > 0 } key ? key : throw new InvalidOperationException($"environment variable {env} is not set")
        : null;

    /// <summary>An error body, cut to one short line for a message.</summary>
    public static string Shorten(string text)
    {
        string line = text.ReplaceLineEndings(" ").Trim();
        return line.Length <= 200 ? line : line[..200] + "…";
    }

    public void Dispose() => _http.Dispose();
}
