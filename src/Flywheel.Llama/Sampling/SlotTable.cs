namespace Flywheel.Llama.Sampling;

/// <summary>
/// The sampler's sequences (slots, one KV stream each): which are free, which feed a prompt, which generate. The lowest
/// free slots are handed out first, and <see cref="DecodeLoop"/> moves candidates down into slots freed below them, so
/// busy slots stay packed together at the front. A candidate that shares its request's prompt takes a slot only once
/// that prompt is evaluated and a slot is free (<see cref="Assign"/>), and its KV is copied there.
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
        if (n > FreeCount) throw new InvalidOperationException($"{n} slots asked for, {FreeCount} free");
        var slots = _free.Take(n).ToArray();
        foreach (int s in slots) _free.Remove(s);
        return slots;
    }

    /// <summary>Gives the lowest free slot to <paramref name="c"/>.</summary>
    public void Assign(Candidate c)
    {
        if (_free.Count == 0) throw new InvalidOperationException("no slot is free");
        int slot = _free.Min;
        _free.Remove(slot);
        Place(c, slot);
    }

    public void Occupy(Job job)
    {
        foreach (var c in job.Candidates)
            if (c.Slot >= 0) _candidateAt[c.Slot] = c;
        foreach (var feed in job.PromptFeeds) _feedAt[feed.Slot] = feed;
    }

    public PromptFeed? FeedAt(int slot) => _feedAt[slot];
    public Candidate? CandidateAt(int slot) => _candidateAt[slot];

    /// <summary>The slot takes a token this step: it feeds a prompt, or a candidate waits to decode its last token.</summary>
    public bool IsBusy(int slot) => _feedAt[slot] is not null || _candidateAt[slot] is { PendingToken: >= 0 };

    /// <summary>
    /// A candidate in the highest occupied slot that a free slot lies below, with that slot: moving it there narrows the
    /// range of slots a step's batch spans. Null when the slots are packed, or the highest one feeds a prompt.
    /// </summary>
    public (Candidate Candidate, int To)? NextMove()
    {
        if (_free.Count == 0) return null;
        int low = _free.Min;
        for (int top = count - 1; top > low; top--)
        {
            if (_feedAt[top] is not null) return null;
            if (_candidateAt[top] is { } c) return (c, low);
        }
        return null;
    }

    /// <summary>Records <paramref name="c"/> in <paramref name="to"/> (a free slot) and frees the slot it leaves.</summary>
    public void Move(Candidate c, int to)
    {
        if (!_free.Remove(to)) throw new InvalidOperationException($"slot {to} is not free");
        _candidateAt[c.Slot] = null;
        _free.Add(c.Slot);
        Place(c, to);
    }

    public void FeedDone(PromptFeed feed) => _feedAt[feed.Slot] = null;

    public void Release(Candidate c)
    {
        _candidateAt[c.Slot] = null;
        _free.Add(c.Slot);
        c.Released = true;
    }

    private void Place(Candidate c, int slot)
    {
        _candidateAt[slot] = c;
        c.Slot = slot;
    }
}
