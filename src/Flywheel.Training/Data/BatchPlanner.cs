namespace Flywheel.Training.Data;

/// <summary>
/// Packs examples into micro-batches by token budget: a batch of n examples of padded length L costs
/// n · sequencesPerExample · L tokens. Examples are shuffled, then sorted by length within windows so that batches
/// hold similar lengths (little padding), and the batches are shuffled again.
/// </summary>
internal static class BatchPlanner
{
    private const int Window = 512;

    /// <summary>One epoch's micro-batches, as example indices.</summary>
    internal static List<int[]> Epoch(IReadOnlyList<int> lengths, int sequencesPerExample, int tokenBudget, SplitMix64 random)
    {
        var order = Enumerable.Range(0, lengths.Count).ToArray();
        random.Shuffle(order);
        var batches = new List<int[]>();
        for (int start = 0; start < order.Length; start += Window)
        {
            var window = order.AsSpan(start, Math.Min(Window, order.Length - start)).ToArray();
            batches.AddRange(Pack(window.OrderByDescending(i => lengths[i]).ToArray(), lengths, sequencesPerExample, tokenBudget));
        }
        var shuffled = batches.ToArray();
        random.Shuffle(shuffled);
        return [.. shuffled];
    }

    /// <summary>Batches for evaluation or scoring: sorted by length, no shuffling.</summary>
    internal static List<int[]> Sorted(IReadOnlyList<int> lengths, int sequencesPerExample, int tokenBudget) =>
        Pack(Enumerable.Range(0, lengths.Count).OrderByDescending(i => lengths[i]).ToArray(), lengths, sequencesPerExample, tokenBudget);

    private static List<int[]> Pack(int[] sorted, IReadOnlyList<int> lengths, int sequencesPerExample, int tokenBudget)
    {
        var result = new List<int[]>();
        var current = new List<int>();
        int longest = 0;
        foreach (int i in sorted)
        {
            int l = Math.Max(longest, lengths[i]);
            if (current.Count > 0 && (long)(current.Count + 1) * sequencesPerExample * l > tokenBudget)
            {
                result.Add([.. current]);
                current.Clear();
                l = lengths[i];
            }
            current.Add(i);
            longest = l;
        }
        if (current.Count > 0) result.Add([.. current]);
        return result;
    }
}
