using LLama.Native;

namespace Flywheel.Llama.Sampling;

/// <summary>
/// Lays out one step's batch. llama.cpp splits a batch over per-sequence KV streams into ubatches of consecutive
/// sequence ids that take equal numbers of tokens (llama_batch_allocr::split_equal); a gap or an id out of order starts
/// a new ubatch, and every ubatch reads all the weights again. So tokens go in slot order, every slot from the first
/// busy one to the last takes part, and an idle slot between them gets a placeholder token whose KV cell is removed
/// after the decode: a generation step is then one ubatch, and a prompt chunk's tail one more.
/// </summary>
internal sealed class BatchLayout(SlotTable slots, int capacity, SafeLLamaContextHandle ctx)
{
    private const int PlaceholderToken = 0; // any id in the vocabulary: its KV cell is removed after the decode

    public LLamaBatch Batch { get; } = new();

    /// <summary>Slots that took a placeholder in this step's batch, and its position there.</summary>
    public List<(int Slot, int Position)> Placeholders { get; } = new();

    /// <summary>Fills <see cref="Batch"/> for this step; a job always has a slot that feeds its prompt or generates.</summary>
    public void Fill(IReadOnlyList<Job> jobs)
    {
        Batch.Clear();
        Placeholders.Clear();
        int first = 0, last = slots.Count - 1;
        while (!slots.IsBusy(first)) first++;
        while (!slots.IsBusy(last)) last--;

        // Every slot in range takes one token; what the batch holds beyond that goes to prompts in arrival order.
        int spare = capacity - (last - first + 1);
        foreach (var job in jobs)
            foreach (var feed in job.PromptFeeds)
            {
                feed.Take = 1 + Math.Min(feed.Prompt.Count - feed.Fed - 1, spare);
                spare -= feed.Take - 1;
            }

        for (int slot = first; slot <= last; slot++)
        {
            var seq = (LLamaSeqId)slot;
            if (slots.FeedAt(slot) is { } feed)
            {
                for (int end = feed.Fed + feed.Take; feed.Fed < end; feed.Fed++)
                {
                    bool lastToken = feed.Fed == feed.Prompt.Count - 1;
                    int i = Batch.Add(feed.Prompt[feed.Fed], feed.Fed, seq, lastToken);
                    if (lastToken) feed.LogitsIndex = i;
                }
            }
            else if (slots.CandidateAt(slot) is { PendingToken: >= 0 } c)
            {
                c.LogitsIndex = Batch.Add(c.PendingToken, c.PendingPosition, seq, true);
            }
            else
            {
                // A free slot, or a finished candidate's kept for the prompt it holds: the next position in its stream
                // (llama.cpp wants each sequence's positions to follow on).
                int position = slots.CandidateAt(slot) is null ? 0 : (int)ctx.MemorySequenceMaxPosition(seq) + 1;
                Batch.Add(PlaceholderToken, position, seq, false);
                Placeholders.Add((slot, position));
            }
        }
    }
}
