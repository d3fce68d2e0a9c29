using System.Threading.Channels;
using Flywheel.Llama.Contexts;
using LLama.Native;

namespace Flywheel.Llama.Sampling;

/// <summary>
/// The sampler's worker: admit requests, lay out a step's batch, decode, sample, hand back finished slots, emit finished
/// requests; again until the input is done. Runs on one dedicated thread, the only one that touches the context.
/// </summary>
internal sealed class DecodeLoop
{
    private readonly SafeLLamaContextHandle _ctx;
    private readonly LlamaVocabulary _vocab;
    private readonly SlotTable _slots;
    private readonly Admission _admission;
    private readonly BatchLayout _layout;
    private readonly IAsyncEnumerator<GenerationRequest> _input;
    private readonly ChannelWriter<GenerationResult> _output;
    private readonly CancellationToken _ct;
    private readonly DecodeCounters _counters;
    private readonly List<Job> _jobs = new();
    private readonly byte[] _scratch = new byte[128];

    public DecodeLoop(SafeLLamaContextHandle ctx, LlamaVocabulary vocab, BatchedSamplerOptions options, int contextPerSequence,
        IAsyncEnumerable<GenerationRequest> requests, ChannelWriter<GenerationResult> output, DecodeCounters counters, CancellationToken ct)
    {
        _ctx = ctx;
        _vocab = vocab;
        _slots = new SlotTable(options.Sequences);
        _layout = new BatchLayout(_slots, options.BatchTokens, ctx);
        _input = requests.GetAsyncEnumerator(ct);
        _admission = new Admission(_input, _slots, options, vocab, contextPerSequence);
        _output = output;
        _counters = counters;
        _ct = ct;
    }

    public void Run()
    {
        try
        {
            while (true)
            {
                _ct.ThrowIfCancellationRequested();
                _admission.Admit(_jobs);
                foreach (var job in _jobs) CopyPrefix(job);
                if (_jobs.Count == 0)
                {
                    if (_admission.InputDone) break;
                    continue; // Admit waited for input and got none yet
                }
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                Step();
                _counters.Step(_layout.Batch.TokenCount, _layout.Placeholders.Count, System.Diagnostics.Stopwatch.GetElapsedTime(start));
            }
            _output.TryComplete();
        }
        catch (Exception e)
        {
            _output.TryComplete(e);
            throw;
        }
        finally
        {
            foreach (var job in _jobs) job.Dispose();
            _ctx.MemoryClear(true);
            _admission.AwaitPendingInput();
            _input.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private void Step()
    {
        _layout.Fill(_jobs);
        EngineContext.Decode(_ctx, _layout.Batch);
        foreach (var (slot, position) in _layout.Placeholders) _ctx.MemorySequenceRemove((LLamaSeqId)slot, position, position + 1);

        foreach (var job in _jobs)
        {
            foreach (var c in job.Candidates)
                if (c.PendingToken >= 0) Sample(c, _ctx.GetLogitsIth(c.LogitsIndex));
            foreach (var feed in job.PromptFeeds)
            {
                if (feed.LogitsIndex < 0) continue;
                var logits = _ctx.GetLogitsIth(feed.LogitsIndex);
                foreach (var c in job.Candidates)
                    if (c.Feed == feed && c.Slot == feed.Slot) Sample(c, logits);
                if (job.Waiting > 0) job.PromptLogits = logits.ToArray();
                feed.LogitsIndex = -1;
            }
            foreach (var feed in job.PromptFeeds)
                if (feed.Done) _slots.FeedDone(feed);
            job.PromptFeeds.RemoveAll(f => f.Done);
            ReleaseFinished(job);
        }
        // The slots freed in this step go to waiting candidates first, the oldest request's first.
        foreach (var job in _jobs) StartWaiting(job);
        for (int j = _jobs.Count - 1; j >= 0; j--)
        {
            var job = _jobs[j];
            if (!job.Done) continue;
            _jobs.RemoveAt(j);
            var result = job.ToResult();
            job.Dispose();
            if (!_output.TryWrite(result)) _output.WriteAsync(result, _ct).AsTask().GetAwaiter().GetResult();
        }
        Pack();
    }

    /// <summary>
    /// Gives a newly admitted request's slot the prompt prefix it shares with another request.
    /// </summary>
    private void CopyPrefix(Job job)
    {
        if (job.PrefixSource < 0) return;
        var feed = job.PromptFeeds[0];
        CopyBelow(job.PrefixSource, feed.Slot, feed.Fed);
        _counters.ReusedPrefix(feed.Fed);
        job.PrefixSource = -1;
    }

    /// <summary>
    /// Starts candidates of a request whose shared prompt is evaluated, in free slots: each gets a copy of the prompt
    /// holder's KV stream less what that one generated since, and draws its first token from the prompt's logits.
    /// </summary>
    private void StartWaiting(Job job)
    {
        if (job.PromptLogits is null) return;
        foreach (var c in job.Candidates)
        {
            if (c.Slot >= 0) continue;
            if (_slots.FreeCount == 0) return;
            _slots.Assign(c);
            CopyBelow(job.PromptHolder.Slot, c.Slot, c.PromptLength);
            Sample(c, job.PromptLogits);
        }
        job.PromptLogits = null;
        ReleaseFinished(job);
    }

    /// <summary>
    /// Makes slot <paramref name="to"/>'s stream slot <paramref name="from"/>'s positions below <paramref name="length"/>:
    /// streams are copied whole (llama.cpp copies the buffer at the next decode, before it computes), then cut.
    /// </summary>
    private void CopyBelow(int from, int to, int length)
    {
        _ctx.MemorySequenceCopy((LLamaSeqId)from, (LLamaSeqId)to, -1, -1);
        _ctx.MemorySequenceRemove((LLamaSeqId)to, length, -1);
    }

    private void ReleaseFinished(Job job)
    {
        foreach (var c in job.Candidates)
        {
            if (!c.Finished || c.Released) continue;
            if (c == job.PromptHolder && job.Waiting > 0) continue; // its stream holds the prompt the others still copy
            _ctx.MemorySequenceRemove((LLamaSeqId)c.Slot, -1, -1);
            _slots.Release(c);
        }
    }

    /// <summary>
    /// Moves candidates from the top down into slots freed below them. Every slot in a batch's range takes a token,
    /// a free one a placeholder that costs what a real token's matrix products do; a move costs one copy of a KV
    /// stream (llama.cpp copies the buffer at the next decode, before it computes) and removes a placeholder from
    /// every step the candidate has left. Without it, placeholders were ~10% of the tokens decoded on the bench.
    /// </summary>
    private void Pack()
    {
        while (_slots.NextMove() is var (c, to))
        {
            int from = c.Slot;
            _slots.Move(c, to);
            _ctx.MemorySequenceCopy((LLamaSeqId)from, (LLamaSeqId)to, -1, -1);
            _ctx.MemorySequenceRemove((LLamaSeqId)from, -1, -1);
            _counters.Moved();
        }
    }

    private void Sample(Candidate c, ReadOnlySpan<float> logits) => c.Accept(c.Sampler.Sample(logits), _vocab, _scratch);
}
