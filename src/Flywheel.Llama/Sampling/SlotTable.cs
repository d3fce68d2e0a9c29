namespace Flywheel.Llama.Sampling;

/// <summary>
/// The sampler's sequences (slots, one KV stream each): which are free, which feed a prompt, which generate. The lowest
/// free slots are handed out first, so busy slots stay packed together at the front.
/// </summary>
internal sealed class SlotTable(int count)
{
    private readonly SortedSet<int> _free = new(Enumerable.Range(0, count));
    private readonly Candidate?[] _candidateAt = new Candidate?[count];
    private readonly PromptFeed?[] _feedAt = new PromptFeed?[count];

    public int Count => count;
    public int FreeCount => _free.Count;

    public int[] Take(int n)
    {
        var slots = _free.Take(n).ToArray();
        foreach (int s in slots) _free.Remove(s);
        return slots;
    }

    public void Occupy(Job job)
    {
        foreach (var c in job.Candidates) _candidateAt[c.Slot] = c;
        foreach (var feed in job.PromptFeeds) _feedAt[feed.Slot] = feed;
    }

    public PromptFeed? FeedAt(int slot) => _feedAt[slot];
    public Candidate? CandidateAt(int slot) => _candidateAt[slot];

    /// <summary>The slot takes a token this step: it feeds a prompt, or a candidate waits to decode its last token.</summary>
    public bool IsBusy(int slot) => _feedAt[slot] is not null || _candidateAt[slot] is { PendingToken: >= 0 };

    public void FeedDone(PromptFeed feed) => _feedAt[feed.Slot] = null;

    public void Release(Candidate c)
    {
        _candidateAt[c.Slot] = null;
        _free.Add(c.Slot);
        c.Released = true;
    }
}
