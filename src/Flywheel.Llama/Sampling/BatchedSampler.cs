using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Flywheel.Llama.Native;

namespace Flywheel.Llama.Sampling;

/// <summary>
/// Samples K candidates per prompt for a stream of prompts with continuous batching: each prompt is evaluated once and
/// its KV cache copied to its K sequences; several prompts are in flight so the batch stays full, and a finished
/// sequence's slot is reused at once. Memory is bounded by the number of sequences, not by the number of prompts.
/// One generation runs at a time per sampler; create one sampler per concurrent stream.
/// </summary>
public sealed class BatchedSampler : IDisposable
{
    private readonly LlamaModel _model;
    private readonly BatchedSamplerOptions _options;
    private readonly SafeLlamaContextHandle _ctx;
    private int _running;
    private long _busyTicks;

    public BatchedSampler(LlamaModel model, BatchedSamplerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _options = options ?? new BatchedSamplerOptions();
        if (_options.BatchTokens < _options.Sequences)
            throw new ArgumentException($"batch tokens ({_options.BatchTokens}) must be at least the number of sequences ({_options.Sequences}): every generating sequence adds one token per step");
        _ctx = LlamaContext.Create(model, _options.Sequences, _options.ContextPerSequence, _options.BatchTokens,
            _options.Threads ?? LlamaBackend.DefaultThreadCount, embeddings: false);
        ContextPerSequence = (int)LlamaNative.llama_n_ctx_seq(_ctx);
    }

    /// <summary>Tokens one sequence holds (prompt + new tokens), after llama.cpp's rounding.</summary>
    public int ContextPerSequence { get; }

    public int Sequences => _options.Sequences;

    /// <summary>Time spent decoding and sampling since the sampler was made (its own thread's busy time, not waits).</summary>
    public TimeSpan BusyTime => TimeSpan.FromTicks(Interlocked.Read(ref _busyTicks));

    /// <summary>Generates the candidates of each request; results come in the order requests finish.</summary>
    public async IAsyncEnumerable<GenerationResult> GenerateAsync(IAsyncEnumerable<GenerationRequest> requests,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        if (Interlocked.Exchange(ref _running, 1) != 0) throw new InvalidOperationException("this sampler is already generating; use one sampler per stream");
        try
        {
            var output = Channel.CreateBounded<GenerationResult>(new BoundedChannelOptions(Math.Max(1, _options.Sequences))
            {
                SingleReader = true,
                SingleWriter = true,
            });
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var engine = new Engine(this, requests, output.Writer, cts.Token);
            var worker = Task.Factory.StartNew(engine.Run, cts.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            try
            {
                await foreach (var result in output.Reader.ReadAllAsync(cancellationToken))
                {
                    cancellationToken.ThrowIfCancellationRequested(); // results already buffered are not handed out after a cancel
                    yield return result;
                }
            }
            finally
            {
                // Stops the worker when the consumer leaves early; then waits so the context is free again.
                await cts.CancelAsync();
                try { await worker; }
                catch (OperationCanceledException) when (cts.IsCancellationRequested) { }
            }
            await worker; // surfaces the worker's exception when the channel completed with one
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>Generates for a sequence of requests.</summary>
    public IAsyncEnumerable<GenerationResult> GenerateAsync(IEnumerable<GenerationRequest> requests, CancellationToken cancellationToken = default)
        => GenerateAsync(requests.ToAsyncEnumerable(), cancellationToken);

    public void Dispose() => _ctx.Dispose();

    /// <summary>The decode loop; runs on one dedicated thread, the only one that touches the context.</summary>
    private sealed class Engine(BatchedSampler owner, IAsyncEnumerable<GenerationRequest> requests, ChannelWriter<GenerationResult> output, CancellationToken ct)
    {
        private readonly LlamaVocabulary _vocab = owner._model.Vocabulary;
        private readonly SortedSet<int> _freeSlots = new(Enumerable.Range(0, owner._options.Sequences));
        private readonly List<Job> _jobs = new();
        private readonly IntPtr _memory = LlamaNative.llama_get_memory(owner._ctx);
        private readonly Candidate?[] _candidateAt = new Candidate?[owner._options.Sequences];
        private readonly PromptFeed?[] _feedAt = new PromptFeed?[owner._options.Sequences];
        private readonly List<int> _placeholders = new();
        private const int PlaceholderToken = 0; // any id in the vocabulary; its KV cell is removed after the decode
        private IAsyncEnumerator<GenerationRequest>? _input;
        private Task<bool>? _pendingMove;
        private GenerationRequest? _waiting;
        private bool _inputDone;

        public void Run()
        {
            using var batch = new SafeLlamaBatchHandle(owner._options.BatchTokens, 1);
            _input = requests.GetAsyncEnumerator(ct);
            try
            {
                while (true)
                {
                    ct.ThrowIfCancellationRequested();
                    Admit();
                    if (_jobs.Count == 0)
                    {
                        if (_inputDone) break;
                        continue; // Admit blocked for input and got none yet
                    }
                    long start = System.Diagnostics.Stopwatch.GetTimestamp();
                    Step(batch);
                    Interlocked.Add(ref owner._busyTicks, System.Diagnostics.Stopwatch.GetElapsedTime(start).Ticks);
                }
                output.TryComplete();
            }
            catch (Exception e)
            {
                output.TryComplete(e);
                throw;
            }
            finally
            {
                foreach (var job in _jobs) job.Dispose();
                LlamaNative.llama_memory_clear(_memory, true);
                _input.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }

        /// <summary>Starts requests while their K slots are free; blocks for input only when nothing else is running.</summary>
        private void Admit()
        {
            while (!_inputDone)
            {
                if (_waiting is null)
                {
                    _pendingMove ??= _input!.MoveNextAsync().AsTask();
                    if (!_pendingMove.IsCompleted && _jobs.Count > 0) return;
                    bool more = _pendingMove.GetAwaiter().GetResult();
                    _pendingMove = null;
                    if (!more)
                    {
                        _inputDone = true;
                        return;
                    }
                    _waiting = _input!.Current;
                    Validate(_waiting);
                }
                if (_freeSlots.Count < _waiting.Candidates) return;
                var slots = _freeSlots.Take(_waiting.Candidates).ToArray();
                foreach (int s in slots) _freeSlots.Remove(s);
                var job = new Job(_waiting, slots, owner._options.SharePromptKv);
                foreach (var c in job.Candidates) _candidateAt[c.Slot] = c;
                foreach (var feed in job.PromptFeeds) _feedAt[feed.Slot] = feed;
                _jobs.Add(job);
                _waiting = null;
            }
        }

        private void Validate(GenerationRequest r)
        {
            string who = r.Tag is null ? "a request" : $"request '{r.Tag}'";
            if (r.PromptTokens is null || r.PromptTokens.Count == 0) throw new ArgumentException($"{who} has an empty prompt");
            if (r.Candidates < 1 || r.Candidates > owner._options.Sequences)
                throw new ArgumentException($"{who} asks for {r.Candidates} candidates; this sampler runs 1 to {owner._options.Sequences} sequences");
            r.Sampling.Validate();
            foreach (int t in r.PromptTokens)
                if ((uint)t >= (uint)_vocab.Count) throw new ArgumentException($"{who} has token id {t}, outside the vocabulary ({_vocab.Count} tokens)");
            if (r.PromptTokens.Count + r.Sampling.MaxNewTokens > owner.ContextPerSequence)
                throw new LlamaException($"{who}: a prompt of {r.PromptTokens.Count} tokens + {r.Sampling.MaxNewTokens} new tokens exceeds the context of {owner.ContextPerSequence} tokens per sequence");
        }

        // llama.cpp splits a batch over per-sequence KV streams into ubatches of consecutive sequence ids that take
        // equal numbers of tokens (llama_batch_allocr::split_equal); a gap or an id out of order starts a new ubatch,
        // and every ubatch reads all the weights again. So tokens go in slot order, every slot from the first busy one
        // to the last takes part, and an idle slot between them gets a placeholder token, removed after the decode:
        // a generation step is then one ubatch, and a prompt chunk's tail one more.
        private void Step(SafeLlamaBatchHandle batch)
        {
            batch.Clear();
            _placeholders.Clear();
            int first = 0, last = _feedAt.Length - 1;
            while (!IsBusy(first)) first++; // a job always has a slot that feeds its prompt or generates
            while (!IsBusy(last)) last--;

            // Every slot in range takes one token; what the batch holds beyond that goes to prompts in arrival order.
            int spare = batch.Capacity - (last - first + 1);
            foreach (var job in _jobs)
                foreach (var feed in job.PromptFeeds)
                {
                    feed.Take = 1 + Math.Min(feed.Prompt.Count - feed.Fed - 1, spare);
                    spare -= feed.Take - 1;
                }

            for (int slot = first; slot <= last; slot++)
            {
                if (_feedAt[slot] is { } feed)
                {
                    for (int end = feed.Fed + feed.Take; feed.Fed < end; feed.Fed++)
                    {
                        bool lastToken = feed.Fed == feed.Prompt.Count - 1;
                        int i = batch.Add(feed.Prompt[feed.Fed], feed.Fed, slot, lastToken);
                        if (lastToken) feed.LogitsIndex = i;
                    }
                }
                else if (_candidateAt[slot] is { PendingToken: >= 0 } c)
                {
                    c.LogitsIndex = batch.Add(c.PendingToken, c.PendingPos, slot, true);
                }
                else
                {
                    batch.Add(PlaceholderToken, 0, slot, false); // the slot's KV stream is empty: free, or awaiting its prompt's copy
                    _placeholders.Add(slot);
                }
            }

            LlamaContext.Decode(owner._ctx, batch);
            foreach (int slot in _placeholders) LlamaNative.llama_memory_seq_rm(_memory, slot, -1, -1);

            for (int j = _jobs.Count - 1; j >= 0; j--)
            {
                var job = _jobs[j];
                foreach (var c in job.Candidates)
                {
                    if (c.PendingToken >= 0)
                    {
                        c.PendingToken = -1;
                        Sample(c, c.LogitsIndex);
                    }
                }
                foreach (var feed in job.PromptFeeds)
                {
                    if (feed.LogitsIndex < 0) continue;
                    foreach (var c in job.Candidates.Where(c => c.Feed == feed))
                    {
                        if (c.Slot != feed.Slot) LlamaNative.llama_memory_seq_cp(_memory, feed.Slot, c.Slot, -1, -1);
                        Sample(c, feed.LogitsIndex);
                    }
                    feed.LogitsIndex = -1;
                }
                foreach (var feed in job.PromptFeeds)
                    if (feed.Done) _feedAt[feed.Slot] = null;
                job.PromptFeeds.RemoveAll(f => f.Done);
                foreach (var c in job.Candidates)
                {
                    if (c.Finished && !c.Released)
                    {
                        LlamaNative.llama_memory_seq_rm(_memory, c.Slot, -1, -1);
                        _freeSlots.Add(c.Slot);
                        _candidateAt[c.Slot] = null;
                        c.Released = true;
                    }
                }
                if (job.Candidates.All(c => c.Released))
                {
                    _jobs.RemoveAt(j);
                    var result = job.ToResult();
                    job.Dispose();
                    if (!output.TryWrite(result)) output.WriteAsync(result, ct).AsTask().GetAwaiter().GetResult();
                }
            }
        }

        private bool IsBusy(int slot) => _feedAt[slot] is not null || _candidateAt[slot] is { PendingToken: >= 0 };

        private void Sample(Candidate c, int logitsIndex)
        {
            int token = LlamaNative.llama_sampler_sample(c.Sampler, owner._ctx, logitsIndex);
            if (_vocab.IsEndOfGeneration(token))
            {
                c.Finish(FinishReason.EndOfGeneration);
                return;
            }
            c.Append(token, _vocab.TokenBytes(token));
            if (c.Finished) return;
            if (c.TokenCount >= c.Options.MaxNewTokens)
            {
                c.Finish(FinishReason.Length);
                return;
            }
            c.PendingToken = token;
            c.PendingPos = c.PromptLength + c.TokenCount - 1;
        }
    }

    private sealed class PromptFeed(int slot, IReadOnlyList<int> prompt)
    {
        public int Slot { get; } = slot;
        public IReadOnlyList<int> Prompt { get; } = prompt;
        public int Fed { get; set; }
        public bool Done => Fed == Prompt.Count;

        /// <summary>Prompt tokens this step's batch takes.</summary>
        public int Take { get; set; }
        public int LogitsIndex { get; set; } = -1;
    }

    private sealed class Job : IDisposable
    {
        public Job(GenerationRequest request, int[] slots, bool sharePrompt)
        {
            Request = request;
            PromptFeeds = sharePrompt ? [new PromptFeed(slots[0], request.PromptTokens)] : slots.Select(s => new PromptFeed(s, request.PromptTokens)).ToList();
            Candidates = slots.Select((slot, i) => new Candidate(i, slot, PromptFeeds[sharePrompt ? 0 : i], request)).ToArray();
        }

        public GenerationRequest Request { get; }
        public List<PromptFeed> PromptFeeds { get; }
        public Candidate[] Candidates { get; }

        public GenerationResult ToResult() => new(Request, Candidates.Select(c => c.ToResult()).ToArray());

        public void Dispose()
        {
            foreach (var c in Candidates) c.Sampler.Dispose();
        }
    }

    private sealed class Candidate
    {
        private readonly System.Text.Decoder _decoder = new System.Text.UTF8Encoding(false).GetDecoder();
        private readonly System.Text.StringBuilder _text = new();
        private readonly List<int> _tokens = new();
        private int _textLength = -1;
        private FinishReason _reason;

        public Candidate(int index, int slot, PromptFeed feed, GenerationRequest request)
        {
            Index = index;
            Slot = slot;
            Feed = feed;
            Options = request.Sampling;
            PromptLength = request.PromptTokens.Count;
            Sampler = SamplerChain.Create(request.Sampling, GenerationRequest.CandidateSeed(request.Seed, index));
        }

        public int Index { get; }
        public int Slot { get; }
        public PromptFeed Feed { get; }
        public SamplingOptions Options { get; }
        public int PromptLength { get; }
        public SafeLlamaSamplerHandle Sampler { get; }
        public int TokenCount => _tokens.Count;
        public int PendingToken { get; set; } = -1;
        public int PendingPos { get; set; }
        public int LogitsIndex { get; set; } = -1;
        public bool Finished { get; private set; }
        public bool Released { get; set; }

        public void Append(int token, byte[] bytes)
        {
            _tokens.Add(token);
            int before = _text.Length;
            var chars = new char[_decoder.GetCharCount(bytes, false)];
            _decoder.GetChars(bytes, chars, false);
            _text.Append(chars);
            foreach (var stop in Options.StopStrings)
            {
                int from = Math.Max(0, before - stop.Length + 1);
                int at = _text.ToString(from, _text.Length - from).IndexOf(stop, StringComparison.Ordinal);
                if (at >= 0)
                {
                    _textLength = from + at;
                    Finish(FinishReason.StopString);
                    return;
                }
            }
        }

        public void Finish(FinishReason reason)
        {
            Finished = true;
            _reason = reason;
        }

        public GeneratedCandidate ToResult()
        {
            if (_textLength < 0)
            {
                var tail = new char[_decoder.GetCharCount([], true)];
                _decoder.GetChars([], tail, true);
                _text.Append(tail);
                _textLength = _text.Length;
            }
            return new GeneratedCandidate(Index, _text.ToString(0, _textLength), _tokens.ToArray(), _reason);
        }
    }
}
