using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Flywheel.Llama;
using Flywheel.Llama.Sampling;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Datasets;
using Flywheel.Pipeline.Runs;
using Flywheel.Pipeline.Stages;
using Flywheel.Pipeline.Verifiers;

namespace Flywheel.Pipeline.Sampling.Remote;

/// <summary>
/// K candidates per prompt from OpenAI-compatible servers (backend openai). Prompts are formatted and tokenized as in
/// process (the policy's vocabulary is loaded, not its weights); each goes to the endpoint with the least outstanding
/// work, with the prompt's derived seed, and comes back with the sampled token ids where the server returns them. A
/// prompt whose endpoint fails for good is re-sent to another. In flight at most the endpoints' concurrency together.
/// </summary>
internal sealed class RemoteSampler : IPromptSampler
{
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromMilliseconds(500);
    private readonly LlamaModel _model;
    private readonly PromptEncoder _encoder;
    private readonly IVerifier? _verifier;
    private readonly SamplingConfig _sampling;
    private readonly SamplingOptions _options;
    private readonly EndpointPool _pool;
    private readonly int _round;
    private readonly IProgress<PipelineEvent> _progress;
    private readonly Action<string> _log;
    private readonly Stopwatch _busy = new();
    private readonly Stopwatch _sinceReport = Stopwatch.StartNew();

    public RemoteSampler(string policyPath, FlywheelConfig config, IVerifier? verifier, int round, IProgress<PipelineEvent> progress, Action<string> log)
    {
        _model = LlamaModel.Load(policyPath, new ModelOptions { VocabularyOnly = true });
        _encoder = new PromptEncoder(_model, config, _model.TrainingContextLength);
        _verifier = verifier;
        _sampling = config.Sampling;
        _options = _sampling.ToOptions();
        _round = round;
        _progress = progress;
        _log = log;
        var timeout = TimeSpan.FromSeconds(_sampling.RequestTimeoutSeconds);
        _pool = new EndpointPool([.. _sampling.Endpoints.Select(e => new OpenAiEndpoint(e, timeout, log))]);
    }

    public string? Problem(PromptRecord prompt) => _verifier?.ReferenceProblem(prompt) ?? _encoder.Problem(prompt);

    public TimeSpan BusyTime => _busy.Elapsed;

    public async IAsyncEnumerable<(PromptItem Item, GenerationResult Result)> SampleAsync(IAsyncEnumerable<PromptItem> prompts, ulong runSeed, int round, string purpose,
        [EnumeratorCancellation] CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // Results wait here until the caller takes them; a request's slot is given back only then, so what is held
        // stays bounded by the endpoints' concurrency however slow the caller is.
        var results = Channel.CreateBounded<(PromptItem, GenerationResult)>(_pool.Capacity);
        var slots = new SemaphoreSlim(_pool.Capacity);
        _busy.Start();
        var feed = FeedAsync(prompts, runSeed, round, purpose, results.Writer, slots, stop.Token);
        try
        {
            await foreach (var result in results.Reader.ReadAllAsync(ct))
            {
                slots.Release();
                yield return result;
            }
            await feed;
        }
        finally
        {
            await stop.CancelAsync();
            await feed.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _busy.Stop();
            foreach (var e in _pool.Endpoints)
                _log($"round {_round}: endpoint {e.Name}: {e.Prompts:N0} prompts, {e.Tokens:N0} tokens, {e.TokensPerSecond:N0} tok/s, {e.Errors} failed requests{(e.TimesOpened > 0 ? $", circuit opened {e.TimesOpened}×" : "")}{(e.RetokenizedCandidates > 0 ? $", {e.RetokenizedCandidates:N0} candidates tokenized from their text" : "")}");
        }
    }

    /// <summary>Sends every prompt, at most the pool's capacity at once; completes the channel (with the first failure, if any).</summary>
    private async Task FeedAsync(IAsyncEnumerable<PromptItem> prompts, ulong runSeed, int round, string purpose,
        ChannelWriter<(PromptItem, GenerationResult)> results, SemaphoreSlim slots, CancellationToken ct)
    {
        var running = new HashSet<Task>();
        Exception? failure = null;
        try
        {
            await foreach (var item in prompts.WithCancellation(ct))
            {
                await slots.WaitAsync(ct);
                ulong seed = Seeds.Derive(runSeed, round, purpose, item.Prompt.Id);
                var task = Task.Run(async () => await results.WriteAsync((item, await SampleOneAsync(item, seed, ct)), ct), ct);
                lock (running) running.Add(task);
                _ = task.ContinueWith(t =>
                {
                    // The first failure stops the rest: the run fails with its cause, not with a cancellation. The
                    // channel is completed before the task leaves the set, so no failure can slip past the end below.
                    if (t.IsFaulted) results.TryComplete(t.Exception!.InnerException);
                    lock (running) running.Remove(t);
                }, TaskScheduler.Default);
            }
        }
        catch (Exception e)
        {
            failure = e;
        }
        Task[] left;
        lock (running) left = [.. running];
        await Task.WhenAll(left).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        results.TryComplete(failure ?? left.FirstOrDefault(t => t.IsFaulted)?.Exception!.InnerException);
    }

    private async Task<GenerationResult> SampleOneAsync(PromptItem item, ulong seed, CancellationToken ct)
    {
        var prompt = item.Prompt;
        var tokens = _encoder.Encode(prompt);
        var tried = new HashSet<OpenAiEndpoint>();
        var failures = new List<string>();
        Exception? last = null;
        while (tried.Count < _pool.Endpoints.Count)
        {
            var endpoint = await _pool.AcquireAsync(tried, ct);
            try
            {
                var (promptTokens, candidates) = await SampleOnAsync(endpoint, prompt, tokens, seed, ct);
                endpoint.Completed(candidates.Sum(c => c.TokenCount));
                Report();
                var request = new GenerationRequest { PromptTokens = promptTokens, Candidates = _sampling.K, Sampling = _options, Seed = seed, Tag = item };
                return new GenerationResult(request, candidates);
            }
            catch (Exception e) when (Resendable(e, ct))
            {
                tried.Add(endpoint);
                last = e;
                // An open circuit says nothing of its own: the endpoint's recent failures are in the log.
                failures.Add(e is Polly.CircuitBreaker.BrokenCircuitException ? $"{endpoint.Name}: taken out of rotation after repeated failures" : e.Message);
                Report();
                if (tried.Count < _pool.Endpoints.Count) _log($"round {_round}: prompt '{prompt.Id}' failed on {endpoint.Name} ({e.Message}); re-sending it to another endpoint");
            }
            finally
            {
                _pool.Release(endpoint);
            }
        }
        throw new HttpRequestException($"prompt '{prompt.Id}' failed on every endpoint: {string.Join("; ", failures)}", last);
    }

    /// <summary>
    /// Failures another endpoint may not have: the endpoint's retries ran out, or its circuit is open. A refused key, a
    /// bad request or a model the server does not know fail the run instead, naming the endpoint.
    /// </summary>
    private static bool Resendable(Exception e, CancellationToken ct) => e switch
    {
        OperationCanceledException => !ct.IsCancellationRequested,
        EndpointStatusException s => s.Transient,
        InvalidDataException => false,
        _ => true,
    };

    /// <summary>The prompt's K candidates from one endpoint, in requests of at most its max_n candidates each.</summary>
    private async Task<(IReadOnlyList<int> PromptTokens, GeneratedCandidate[] Candidates)> SampleOnAsync(OpenAiEndpoint endpoint, PromptRecord prompt,
        IReadOnlyList<int> tokens, ulong seed, CancellationToken ct)
    {
        int k = _sampling.K, perRequest = Math.Min(endpoint.Config.MaxN ?? k, k);
        var chunks = Enumerable.Range(0, (k + perRequest - 1) / perRequest).Select(async chunk =>
        {
            int first = chunk * perRequest, n = Math.Min(perRequest, k - first);
            // llama-server seeds the i-th of n completions with seed + i; a chunk starts from its first candidate's seed.
            var body = OpenAiProtocol.Request(_sampling, endpoint.Config.Model, tokens, prompt.Messages, n, GenerationRequest.CandidateSeed(seed, first));
            using var answer = await endpoint.PostAsync(OpenAiProtocol.Path(_sampling.Route), body, ct);
            var choices = OpenAiProtocol.Choices(answer.RootElement, _sampling.Route, n);
            return (Prompt: OpenAiProtocol.PromptTokenIds(answer.RootElement), Candidates: choices.Select(c => ToCandidate(endpoint, c, first + c.Index)).ToArray());
        });
        var parts = await Task.WhenAll(chunks);
        // The chat route's prompt tokens are the server's; where it does not say, Flywheel's own rendering stands in.
        return (_sampling.Route == "chat" ? parts[0].Prompt ?? tokens : tokens, [.. parts.SelectMany(p => p.Candidates)]);
    }

    private GeneratedCandidate ToCandidate(OpenAiEndpoint endpoint, RemoteChoice choice, int index)
    {
        if (endpoint.TokenIdSource is null)
        {
            endpoint.TokenIdSource = choice.TokenIdSource ?? "text";
            _log(choice.TokenIdSource is { } source
                ? $"endpoint {endpoint.Name}: candidates keep the token ids the server sampled (from its '{source}')"
                : $"endpoint {endpoint.Name}: the server returns no token ids; candidates are tokenized from their text with the policy's vocabulary");
        }
        bool endOfGeneration = false;
        List<int>? tokens = null;
        if (choice.TokenIds is { } ids)
        {
            (tokens, endOfGeneration) = Sampled(endpoint, ids, choice.Text);
            // llama-server leaves the tokens that end inside a UTF-8 character out of its logprobs, so its ids can
            // miss some: ids that do not spell the text are not the sampled tokens, and the text is what is left.
            if (tokens is null && endpoint.Retokenized() == 1)
                _log($"endpoint {endpoint.Name}: a candidate's token ids do not spell its text (llama-server's logprobs leave out tokens of characters split across tokens); such candidates are tokenized from their text");
        }
        tokens ??= [.. _model.Vocabulary.Tokenize(choice.Text)];
        var reason = choice.FinishReason == "length" ? FinishReason.Length
            : endOfGeneration ? FinishReason.EndOfGeneration
            : choice.StopString || (choice.TokenIds is not null && _sampling.Stop.Count > 0) ? FinishReason.StopString
            : FinishReason.EndOfGeneration;
        return new GeneratedCandidate(index, choice.Text, tokens, reason);
    }

    /// <summary>
    /// The sampled tokens up to the first end-of-generation one, when they spell <paramref name="text"/>; where a stop
    /// string cut the text, the tokens wholly before it (as the in-process sampler keeps); null when they do not.
    /// </summary>
    private (List<int>? Tokens, bool EndOfGeneration) Sampled(OpenAiEndpoint endpoint, IReadOnlyList<int> ids, string text)
    {
        var vocab = _model.Vocabulary;
        var kept = new List<int>(ids.Count);
        var spelled = new List<byte>();
        var ends = new List<int>(ids.Count);
        bool endOfGeneration = false;
        foreach (int id in ids)
        {
            if (id < 0 || id >= vocab.Count)
                throw new InvalidDataException($"endpoint {endpoint.Name} returned token id {id}, outside the policy's vocabulary of {vocab.Count}: does it serve the policy?");
            if (vocab.IsEndOfGeneration(id))
            {
                endOfGeneration = true;
                break;
            }
            kept.Add(id);
            spelled.AddRange(vocab.TokenBytes(id));
            ends.Add(spelled.Count);
        }
        byte[] expected = Encoding.UTF8.GetBytes(text);
        if (spelled.Count == expected.Length && spelled.SequenceEqual(expected)) return (kept, endOfGeneration);
        if (_sampling.Stop.Count > 0 && !endOfGeneration && spelled.Count > expected.Length && spelled.Take(expected.Length).SequenceEqual(expected))
            return (kept[..ends.Count(end => end <= expected.Length)], false);
        return (null, endOfGeneration);
    }

    private void Report()
    {
        lock (_sinceReport)
        {
            if (_sinceReport.Elapsed < ProgressEvery) return;
            _sinceReport.Restart();
        }
        foreach (var e in _pool.Endpoints)
            _progress.Report(new PipelineEvent(_round, $"{Stage.Sample} {e.Name}", e.Prompts, null,
                $"{e.Prompts:N0} prompts, {e.Errors} failed requests{(e.IsBroken ? ", circuit open" : "")}", e.TokensPerSecond));
    }

    public void Dispose()
    {
        foreach (var e in _pool.Endpoints) e.Dispose();
        _model.Dispose();
    }
}
