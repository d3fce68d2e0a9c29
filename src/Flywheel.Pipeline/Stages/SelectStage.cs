using Flywheel.Pipeline.Runs;

namespace Flywheel.Pipeline.Stages;

/// <summary>
/// Ranks each prompt's candidates by reward and keeps the top N that pass the filters, giving the round's metrics; the
/// top-quartile threshold needs every reward of the round, so selection follows scoring. Streams the part files prompt
/// by prompt: memory holds one part, however many prompts the round has.
/// </summary>
internal static class SelectStage
{
    public static async Task<RoundMetrics> RunAsync(RoundContext ctx, RoundMetrics metrics, CancellationToken ct)
    {
        await PartFiles.RestoreAsync(ctx, ct);
        double? threshold = null;
        if (ctx.Config.Selection.TopQuartile)
        {
            var rewards = new List<double>();
            await foreach (var prompt in PartFiles.ReadPromptsAsync(ctx, ct)) rewards.AddRange(prompt.Select(c => c.Reward));
            threshold = Selection.TopQuartileThreshold(rewards);
        }
        long all = 0, kept = 0, judgedAll = 0, correctAll = 0, judgedKept = 0, correctKept = 0;
        double rewardAll = 0, rewardKept = 0;
        await foreach (var prompt in PartFiles.ReadPromptsAsync(ctx, ct))
        {
            foreach (var c in Selection.Rank(prompt, ctx.Config.Selection, threshold ?? double.NegativeInfinity))
            {
                all++;
                rewardAll += c.Reward;
                if (c.Correct is bool ok) { judgedAll++; if (ok) correctAll++; }
                if (!c.Kept) continue;
                kept++;
                rewardKept += c.Reward;
                if (c.Correct is bool k) { judgedKept++; if (k) correctKept++; }
            }
        }
        double? passAll = judgedAll > 0 ? (double)correctAll / judgedAll : null;
        return metrics with
        {
            Candidates = all,
            Kept = kept,
            RewardMeanAll = all > 0 ? rewardAll / all : null,
            RewardMeanKept = kept > 0 ? rewardKept / kept : null,
            RewardThreshold = threshold,
            PassRateAll = passAll,
            PassRateKept = judgedKept > 0 ? (double)correctKept / judgedKept : null,
            // Candidates are sampled at the sampling temperature: the mean correctness is the policy's expected pass@1.
            PolicyPassAt1 = passAll,
        };
    }
}
