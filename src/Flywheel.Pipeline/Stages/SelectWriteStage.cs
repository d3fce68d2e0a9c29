using Flywheel.Parquet;
using Flywheel.Pipeline.Runs;

namespace Flywheel.Pipeline.Stages;

/// <summary>
/// Select: ranks each prompt's candidates by reward and keeps the top N that pass the filters; the top-quartile
/// threshold needs every reward of the round, so selection follows scoring. Write: candidates.parquet (every
/// candidate, ranked) and sft.parquet (the kept ones), in prompt order, each atomically. Both stream the part files
/// prompt by prompt: memory holds one part and one row group, however many prompts the round has.
/// </summary>
internal static class SelectWriteStage
{
    // Row groups small enough that the writers' buffers stay a fixed, modest size.
    private const long RowGroupBytes = 1L << 20;

    public static async Task<RoundMetrics> SelectAsync(RoundContext ctx, RoundMetrics metrics, CancellationToken ct)
    {
        await RestorePartsAsync(ctx, ct);
        double? threshold = null;
        if (ctx.Config.Selection.TopQuartile)
        {
            var rewards = new List<double>();
            await foreach (var prompt in SampleScoreStage.ReadPromptsAsync(ctx, ct)) rewards.AddRange(prompt.Select(c => c.Reward));
            threshold = Selection.TopQuartileThreshold(rewards);
        }
        long all = 0, kept = 0, judgedAll = 0, correctAll = 0, judgedKept = 0, correctKept = 0;
        double rewardAll = 0, rewardKept = 0;
        await foreach (var prompt in SampleScoreStage.ReadPromptsAsync(ctx, ct))
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

    public static async Task WriteAsync(RoundContext ctx, CancellationToken ct)
    {
        double threshold = ctx.Store.Manifest.Round(ctx.Round).Metrics.RewardThreshold ?? double.NegativeInfinity;
        var options = RowFiles.Options(ctx.Store.Manifest.ConfigHash, RowGroupBytes);
        await RestorePartsAsync(ctx, ct);
        await ctx.Resilience.Io.ExecuteAsync(async token =>
        {
            await using var candidates = ParquetSerializer.CreateWriter<CandidateRow>(ctx.CandidatesPath, options);
            await using var sft = ParquetSerializer.CreateWriter<SftRow>(ctx.SftPath, options);
            await foreach (var prompt in SampleScoreStage.ReadPromptsAsync(ctx, token))
            {
                var ranked = Selection.Rank(prompt, ctx.Config.Selection, threshold);
                foreach (var c in ranked) await candidates.WriteAsync(c, token);
                foreach (var c in ranked.Where(c => c.Kept)) await sft.WriteAsync(SftRow.From(c), token);
            }
            await candidates.CompleteAsync(token);
            await sft.CompleteAsync(token);
        }, ct);
    }

    /// <summary>
    /// A finished round's part files are gone (see <see cref="RemoveParts"/>): redoing its select or write rebuilds them
    /// from candidates.parquet, which holds every scored candidate in prompt order, one part at a time. They are written
    /// to a folder beside and renamed into place, so a crash leaves either no parts or all of them.
    /// </summary>
    private static async Task RestorePartsAsync(RoundContext ctx, CancellationToken ct)
    {
        if (Directory.Exists(ctx.PartsDirectory)) return;
        if (!File.Exists(ctx.CandidatesPath))
            throw new FileNotFoundException($"round {ctx.Round}: neither the part files nor candidates.parquet are there to select from; redo the round from sample", ctx.CandidatesPath);
        string temp = ctx.PartsDirectory + ".rebuilding";
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true); // what a killed rebuild left
        Directory.CreateDirectory(temp);
        int part = 0, prompts = 0;
        int? current = null;
        var rows = new List<CandidateRow>();
        async Task WritePartAsync()
        {
            await ParquetSerializer.SerializeAsync(rows, Path.Combine(temp, $"part-{part++:00000}.parquet"), RowFiles.Options(), ct);
            rows.Clear();
            prompts = 0;
        }
        await foreach (var row in ParquetSerializer.DeserializeAsync<CandidateRow>(ctx.CandidatesPath, RowFiles.Options(), ct))
        {
            if (row.PromptIndex != current)
            {
                if (prompts == ctx.Config.Sampling.PartSize) await WritePartAsync();
                current = row.PromptIndex;
                prompts++;
            }
            rows.Add(row);
        }
        if (rows.Count > 0) await WritePartAsync();
        Directory.Move(temp, ctx.PartsDirectory);
        ctx.Log($"round {ctx.Round}: part files rebuilt from candidates.parquet ({part} parts)");
    }

    /// <summary>Removes the part files once run.json records the final files as written (not before: a crash in between must be able to write them again).</summary>
    public static void RemoveParts(RoundContext ctx)
    {
        if (ctx.Store.StageState(ctx.Round, Stage.Write) == StageState.Done && Directory.Exists(ctx.PartsDirectory))
            Directory.Delete(ctx.PartsDirectory, recursive: true);
    }
}
