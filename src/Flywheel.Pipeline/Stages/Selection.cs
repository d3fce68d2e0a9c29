using Flywheel.Pipeline.Config;

namespace Flywheel.Pipeline.Stages;

/// <summary>
/// Rejection sampling's choice: per prompt, rank candidates by reward (ties by candidate index, so the choice is
/// deterministic) and keep the top N that pass the filters. The verifier plays no part here.
/// </summary>
public static class Selection
{
    /// <summary>The reward at or above which a candidate is in the top quartile of <paramref name="rewards"/>.</summary>
    public static double TopQuartileThreshold(IReadOnlyList<double> rewards)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        if (rewards.Count == 0) return double.NegativeInfinity;
        var sorted = rewards.Order().ToArray();
        return sorted[(int)Math.Floor(0.75 * (sorted.Length - 1))];
    }

    /// <summary>Ranks and marks the kept candidates of one prompt.</summary>
    public static IReadOnlyList<CandidateRow> Rank(IReadOnlyList<CandidateRow> candidates, SelectionConfig options, double threshold)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(options);
        var ranked = candidates.OrderByDescending(c => c.Reward).ThenBy(c => c.Candidate).ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int kept = 0;
        var result = new List<CandidateRow>(ranked.Count);
        for (int i = 0; i < ranked.Count; i++)
        {
            var c = ranked[i];
            bool keep = kept < options.TopN
                && c.Completion.Length > 0
                && (options.MinReward is null || c.Reward >= options.MinReward)
                && (!options.TopQuartile || c.Reward >= threshold)
                && (!options.Dedupe || seen.Add(c.Completion));
            if (keep) kept++;
            result.Add(c with { Rank = i + 1, Kept = keep });
        }
        return result;
    }
}
