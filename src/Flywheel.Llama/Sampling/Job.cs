namespace Flywheel.Llama.Sampling;

/// <summary>One request in flight: its prompt evaluations and its K candidates, each in a slot.</summary>
internal sealed class Job : IDisposable
{
    public Job(GenerationRequest request, int[] slots, bool sharePrompt)
    {
        Request = request;
        PromptFeeds = sharePrompt ? [new PromptFeed(slots[0], request.PromptTokens)] : slots.Select(s => new PromptFeed(s, request.PromptTokens)).ToList();
        Candidates = slots.Select((slot, i) => new Candidate(i, slot, PromptFeeds[sharePrompt ? 0 : i], request)).ToArray();
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
