using Flywheel.Parquet;
using Flywheel.Pipeline.Runs;

namespace Flywheel.Pipeline.Stages;

/// <summary>
/// Select: ranks each prompt's candidates by reward and keeps the top N that pass the filters (the top-quartile
/// threshold needs every reward of the round, so selection follows scoring). Write: candidates.parquet (every
/// candidate, ranked) and sft.parquet (the kept ones), in prompt order, each atomically.
/// </summary>
internal static class SelectWriteStage
{
    public static async Task<RoundMetrics> SelectAsync(RoundContext ctx, RoundMetrics metrics, CancellationToken ct)
    {
        var rows = await SampleScoreStage.ReadPartsAsync(ctx, ct);
        double threshold = ctx.Config.Selection.TopQuartile ? Selection.TopQuartileThreshold(rows.Select(r => r.Reward).ToList()) : double.NegativeInfinity;
        var ranked = rows.GroupBy(r => r.PromptIndex).OrderBy(g => g.Key)
            .SelectMany(g => Selection.Rank(g.ToList(), ctx.Config.Selection, threshold)).ToList();
        // The ranked candidates are the select stage's output; write turns them into the final files.
        await ctx.Resilience.Io.ExecuteAsync(async token =>
            await ParquetSerializer.SerializeAsync(ranked, Path.Combine(ctx.Directory, "ranked.parquet"), RowFiles.Options(), token), ct);
        var kept = ranked.Where(r => r.Kept).ToList();
        double? Rate(IEnumerable<CandidateRow> xs) => xs.Any(x => x.Correct is not null) ? xs.Average(x => x.Correct == true ? 1.0 : 0.0) : null;
        return metrics with
        {
            Candidates = ranked.Count,
            Kept = kept.Count,
            RewardMeanAll = ranked.Count > 0 ? ranked.Average(r => r.Reward) : null,
            RewardMeanKept = kept.Count > 0 ? kept.Average(r => r.Reward) : null,
            PassRateAll = Rate(ranked),
            PassRateKept = kept.Count > 0 ? Rate(kept) : null,
            // Candidates are sampled at the sampling temperature: the mean correctness is the policy's expected pass@1.
            PolicyPassAt1 = Rate(ranked),
        };
    }

    public static async Task WriteAsync(RoundContext ctx, CancellationToken ct)
    {
        string ranked = Path.Combine(ctx.Directory, "ranked.parquet");
        var rows = new List<CandidateRow>();
        await foreach (var r in ParquetSerializer.DeserializeAsync<CandidateRow>(ranked, RowFiles.Options(), ct)) rows.Add(r);
        var options = RowFiles.Options(ctx.Store.Manifest.ConfigHash);
        await ctx.Resilience.Io.ExecuteAsync(async token =>
        {
            await ParquetSerializer.SerializeAsync(rows, ctx.CandidatesPath, options, token);
            await ParquetSerializer.SerializeAsync(rows.Where(r => r.Kept).OrderBy(r => r.PromptIndex).ThenBy(r => r.Rank).Select(SftRow.From), ctx.SftPath, options, token);
        }, ct);
        File.Delete(ranked);
        Directory.Delete(ctx.PartsDirectory, recursive: true);
    }
}
