using Flywheel.Parquet;
using Flywheel.Pipeline.Runs;

namespace Flywheel.Pipeline.Stages;

/// <summary>
/// Writes candidates.parquet (every candidate, ranked as select ranked it) and sft.parquet (the kept ones), in prompt
/// order, each atomically, streaming the part files: memory holds one part and one row group.
/// </summary>
internal static class WriteStage
{
    // Row groups small enough that the writers' buffers stay a fixed, modest size.
    private const long RowGroupBytes = 1L << 20;

    public static async Task RunAsync(RoundContext ctx, CancellationToken ct)
    {
        double threshold = ctx.Store.Manifest.Round(ctx.Round).Metrics.RewardThreshold ?? double.NegativeInfinity;
        var options = RowFiles.Options(ctx.Store.Manifest.ConfigHash, RowGroupBytes);
        await PartFiles.RestoreAsync(ctx, ct);
        await ctx.Resilience.Io.ExecuteAsync(async token =>
        {
            await using var candidates = ParquetSerializer.CreateWriter<CandidateRow>(ctx.CandidatesPath, options);
            await using var sft = ParquetSerializer.CreateWriter<SftRow>(ctx.SftPath, options);
            await foreach (var prompt in PartFiles.ReadPromptsAsync(ctx, token))
            {
                var ranked = Selection.Rank(prompt, ctx.Config.Selection, threshold);
                foreach (var c in ranked) await candidates.WriteAsync(c, token);
                foreach (var c in ranked.Where(c => c.Kept)) await sft.WriteAsync(SftRow.From(c), token);
            }
            await candidates.CompleteAsync(token);
            await sft.CompleteAsync(token);
        }, ct);
    }
}
