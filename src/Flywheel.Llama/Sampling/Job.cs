namespace Flywheel.Llama.Sampling;

/// <summary>One request in flight: its prompt evaluations and its K candidates.</summary>
internal sealed class Job : IDisposable
{
    /// <summary>
    /// A job whose prompt is evaluated into each of <paramref name="slots"/>, one per candidate; or, given one slot for
    /// K candidates, evaluated there once for the first of them, the others taking reserved slots when it is done.
    /// </summary>
    public Job(GenerationRequest request, int[] slots)
    {
        Request = request;
        PromptFeeds = slots.Select(s => new PromptFeed(s, request.PromptTokens)).ToList();
        Candidates = Enumerable.Range(0, request.Candidates)
            .Select(i => new Candidate(i, i < slots.Length ? slots[i] : -1, PromptFeeds[Math.Min(i, slots.Length - 1)], request)).ToArray();
    }

    public GenerationRequest Request { get; }

    /// <summary>Prompt evaluations not finished yet: one shared by the K candidates, or one each.</summary>
    public List<PromptFeed> PromptFeeds { get; }

    public Candidate[] Candidates { get; }

    public bool Done => Candidates.All(c => c.Released);

    public GenerationResult ToResult() => new(Request, Candidates.Select(c => c.ToResult()).ToArray());

    public void Dispose()
    {
        foreach (var c in Candidates) c.Dispose();
    }
}
