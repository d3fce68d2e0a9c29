namespace Flywheel.Training.Data;

/// <summary>
/// Packs examples into micro-batches by a budget of real tokens (the decoder runs without padding). Examples are
/// shuffled, then sorted by length within windows so that a batch's attention rows pack tightly, and the batches are
/// shuffled again.
/// </summary>
internal static class BatchPlanner
{
    private const int Window = 512;

    /// <summary>One epoch's micro-batches, as example indices; <paramref name="tokens"/> is each example's token count.</summary>
    internal static List<int[]> Epoch(IReadOnlyList<int> tokens, int tokenBudget, SplitMix64 random)
    {
        var order = Enumerable.Range(0, tokens.Count).ToArray();
        random.Shuffle(order);
        var batches = new List<int[]>();
        for (int start = 0; start < order.Length; start += Window)
        {
            var window = order.AsSpan(start, Math.Min(Window, order.Length - start)).ToArray();
            batches.AddRange(Pack(window.OrderByDescending(i => tokens[i]).ToArray(), tokens, tokenBudget));
        }
        var shuffled = batches.ToArray();
        random.Shuffle(shuffled);
        return [.. shuffled];
    }

    /// <summary>Batches for evaluation or scoring: sorted by length, no shuffling.</summary>
    internal static List<int[]> Sorted(IReadOnlyList<int> tokens, int tokenBudget) =>
        Pack(Enumerable.Range(0, tokens.Count).OrderByDescending(i => tokens[i]).ToArray(), tokens, tokenBudget);

    private static List<int[]> Pack(int[] sorted, IReadOnlyList<int> tokens, int tokenBudget)
    {
        var result = new List<int[]>();
        var current = new List<int>();
        long used = 0;
        foreach (int i in sorted)
        {
            if (current.Count > 0 && used + tokens[i] > tokenBudget)
            {
                result.Add([.. current]);
                current.Clear();
                used = 0;
            }
            current.Add(i);
            used += tokens[i];
        }
        if (current.Count > 0) result.Add([.. current]);
        return result;
    }
}
