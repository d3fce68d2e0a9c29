namespace Flywheel.Llama.Sampling;

/// <summary>One request in flight: its prompt evaluations and its K candidates.</summary>
internal sealed class Job : IDisposable
{
    /// <summary>
    /// A job whose prompt is evaluated into each of <paramref name="slots"/>, one per candidate; or, given one slot for
    /// K candidates, evaluated there once for the first of them, the others taking slots as they come free.
    /// </summary>
    /// <param name="prefix">A slot of another request whose stream holds this prompt's first tokens, and how many: the
    /// shared evaluation starts from a copy of them.</param>
    public Job(GenerationRequest request, int[] slots, (int Slot, int Length)? prefix = null)
    {
        Request = request;
        PromptFeeds = slots.Select(s => new PromptFeed(s, request.PromptTokens)).ToList();
        if (prefix is { } p)
        {
            if (slots.Length != 1) throw new ArgumentException("only a shared prompt evaluation starts from another request's prefix");
            PromptFeeds[0].Fed = p.Length;
            PrefixSource = p.Slot;
        }
        Candidates = Enumerable.Range(0, request.Candidates)
            .Select(i => new Candidate(i, i < slots.Length ? slots[i] : -1, PromptFeeds[Math.Min(i, slots.Length - 1)], request)).ToArray();
    }

    public GenerationRequest Request { get; }

    /// <summary>The slot whose stream the prompt's first <see cref="PromptFeed.Fed"/> tokens are still to be copied from, or -1.</summary>
    public int PrefixSource { get; set; } = -1;

    /// <summary>Prompt evaluations not finished yet: one shared by the K candidates, or one each.</summary>
    public List<PromptFeed> PromptFeeds { get; }

    public Candidate[] Candidates { get; }

    /// <summary>Candidates without a slot yet: they wait for the shared prompt's evaluation, then for a free slot.</summary>
    public int Waiting => Candidates.Count(c => c.Slot < 0);

    /// <summary>The shared prompt's last logits, kept while candidates still wait to draw their first token from them.</summary>
    public float[]? PromptLogits { get; set; }

    /// <summary>
    /// The candidate evaluated in the shared prompt's slot: its KV stream holds the prompt that the waiting candidates
    /// copy, so its slot is kept, even once it has finished, until none waits.
    /// </summary>
    public Candidate PromptHolder => Candidates[0];

    public bool Done => Candidates.All(c => c.Released);

    public GenerationResult ToResult() => new(Request, Candidates.Select(c => c.ToResult()).ToArray());

    public void Dispose()
    {
        foreach (var c in Candidates) c.Dispose();
    }
}
