namespace Flywheel.Llama.Sampling;

/// <summary>
/// Pulls requests from the caller's stream and starts each as a <see cref="Job"/> once its prompt evaluations have free
/// slots that no waiting candidate needs: one slot when the K candidates share the prompt (they take theirs as slots
/// come free, before any later request), K otherwise; a shared evaluation starts from the longest prefix its prompt
/// shares with a request in flight (<see cref="PromptPrefix"/>), and waits a step for a request admitted just before it
/// that shares more. Free slots then always cover the candidates of every request but
/// the newest, so the newest one's are sure to get theirs as running candidates finish. It waits for input only when
/// nothing else runs, so a slow producer never stalls the candidates already generating.
/// </summary>
internal sealed class Admission(IAsyncEnumerator<GenerationRequest> input, SlotTable slots, BatchedSamplerOptions options,
    LlamaVocabulary vocab, int contextPerSequence)
{
    private Task<bool>? _pendingMove;
    private GenerationRequest? _waiting;

    public bool InputDone { get; private set; }

    /// <summary>
    /// Waits for a request still being fetched, so the input can be disposed: disposing an async iterator while its
    /// MoveNextAsync runs throws, which would turn a cancellation into a failure.
    /// </summary>
    public void AwaitPendingInput()
    {
        if (_pendingMove is null) return;
        try { _pendingMove.GetAwaiter().GetResult(); }
        catch (OperationCanceledException) { }
        _pendingMove = null;
    }

    /// <summary>
    /// Starts requests while their slots are free, adding them to <paramref name="jobs"/>; the caller copies the
    /// prefixes they reuse (<see cref="Job.PrefixSource"/>) before the next decode.
    /// </summary>
    public void Admit(List<Job> jobs)
    {
        // Prefixes come from requests decoded in earlier steps only.
        int earlier = jobs.Count;
        while (!InputDone)
        {
            if (_waiting is null)
            {
                _pendingMove ??= input.MoveNextAsync().AsTask();
                if (!_pendingMove.IsCompleted && jobs.Count > 0) return;
                bool more = _pendingMove.GetAwaiter().GetResult();
                _pendingMove = null;
                if (!more)
                {
                    InputDone = true;
                    return;
                }
                _waiting = input.Current;
                Validate(_waiting);
            }
            int evaluations = options.SharePromptKv ? 1 : _waiting.Candidates;
            if (slots.FreeCount - jobs.Sum(j => j.Waiting) < evaluations) return;
            (int Slot, int Length)? prefix = null;
            if (options.SharePromptKv)
            {
                prefix = PromptPrefix.Find(jobs.Take(earlier), _waiting.PromptTokens);
                // Decoded in this step, that request's prompt serves this one from the next.
                if (PromptPrefix.Find(jobs.Skip(earlier), _waiting.PromptTokens, decodedOnly: false) is { } sooner && sooner.Length > (prefix?.Length ?? 0)) return;
            }
            var job = new Job(_waiting, slots.Take(evaluations), prefix);
            slots.Occupy(job);
            jobs.Add(job);
            _waiting = null;
        }
    }

    private void Validate(GenerationRequest r)
    {
        string who = r.Tag is null ? "a request" : $"request '{r.Tag}'";
        if (r.PromptTokens is null || r.PromptTokens.Count == 0) throw new ArgumentException($"{who} has an empty prompt");
        if (r.Candidates < 1 || r.Candidates > slots.Count)
            throw new ArgumentException($"{who} asks for {r.Candidates} candidates; this sampler runs 1 to {slots.Count} sequences");
        r.Sampling.Validate();
        foreach (int t in r.PromptTokens)
            if ((uint)t >= (uint)vocab.Count) throw new ArgumentException($"{who} has token id {t}, outside the vocabulary ({vocab.Count} tokens)");
        if (r.PromptTokens.Count + r.Sampling.MaxNewTokens > contextPerSequence)
            throw new LlamaException($"{who}: a prompt of {r.PromptTokens.Count} tokens + {r.Sampling.MaxNewTokens} new tokens exceeds the context of {contextPerSequence} tokens per sequence");
    }
}
