using System.Diagnostics;
using System.Threading.Tasks.Dataflow;
using Flywheel.Llama.Chat;
using Flywheel.Parquet;
using Flywheel.Pipeline.Runs;
using Flywheel.Training.RewardModel;

namespace Flywheel.Pipeline.Stages;

/// <summary>How long each stage of a streaming pass was busy, to show that they overlap.</summary>
public sealed record StageTimes(TimeSpan Sample, TimeSpan Score, TimeSpan Write, TimeSpan Wall, long GeneratedTokens, long PromptsRejected)
{
    public double TokensPerSecond => GeneratedTokens / Math.Max(1e-9, Wall.TotalSeconds);
}

/// <summary>
/// Sample → score → write as TPL Dataflow blocks with bounded capacity, so the three overlap: the policy samples K
/// candidates per prompt (continuous batching on its own thread), the reward model scores each prompt's candidates
/// as they arrive, and every <c>part_size</c> prompts a part file is written. Prompts already in a part file are
/// skipped, so a killed run continues where it stopped and loses at most the parts in flight.
/// </summary>
internal static class SampleScoreStage
{
    public static async Task<StageTimes> RunAsync(RoundContext ctx, CancellationToken ct)
    {
        var config = ctx.Config;
        System.IO.Directory.CreateDirectory(ctx.PartsDirectory);
        var done = await DonePromptsAsync(ctx, ct);
        int partNumber = Directory.GetFiles(ctx.PartsDirectory, "part-*.parquet").Length;
        ctx.Log($"round {ctx.Round}: {done.Count} prompts already sampled and scored; continuing");

        int samplerThreads = ctx.Threads > 1 ? ctx.Threads - 1 : 1;
        using var sampler = new CandidateSampler(ctx.PolicyPath, config, config.Sampling.K, samplerThreads);
        using var scorer = RewardScorer.Load(ctx.RewardModelPath, new RewardScorerOptions
        {
            Threads = 1,
            Sequences = Math.Max(config.Sampling.K, 8),
            Template = config.Policy.ChatTemplate is { } name ? ChatTemplate.Named(name) : null,
        });
        string policy = Path.GetFileName(Path.GetDirectoryName(ctx.PolicyPath)) + "/" + Path.GetFileName(ctx.PolicyPath);
        string rewardModel = $"round-{ctx.Round:000}/rm";
        var sampleTime = new Stopwatch();
        var scoreTime = new Stopwatch();
        var writeTime = new Stopwatch();
        var wall = Stopwatch.StartNew();
        long tokens = 0, finished = done.Count;
        long total = await ctx.OpenPrompts(config.Prompts.Path, config.Prompts.Limit, null, ct).Prompts.CountAsync(ct);

        var options = new ExecutionDataflowBlockOptions { BoundedCapacity = 4, MaxDegreeOfParallelism = 1, CancellationToken = ct };
        var score = new TransformBlock<(PromptItem Item, Llama.Sampling.GenerationResult Result), CandidateRow[]>(x =>
        {
            scoreTime.Start();
            var prompt = x.Item.Prompt;
            var queries = x.Result.Candidates.Select(c => new RewardQuery(prompt.Messages, c.Text)).ToList();
            // One prompt's K candidates are scored together, whatever else is in flight: rewards do not depend on
            // what a resumed run happens to batch them with.
            float[] rewards = ctx.Resilience.Backend.Execute(token => scorer.Score(queries, cancellationToken: token), ct);
            var rows = x.Result.Candidates.Select(c => new CandidateRow
            {
                PromptId = prompt.Id,
                PromptIndex = x.Item.Index,
                Prompt = prompt.Messages.LastOrDefault(m => m.Role == "user")?.Content ?? "",
                PromptMessages = prompt.Messages.Select(m => new MessageRow(m.Role, m.Content)).ToList(),
                Candidate = c.Index,
                Completion = c.Text,
                Tokens = c.TokenCount,
                FinishReason = c.FinishReason.ToString(),
                Reward = rewards[c.Index],
                Correct = ctx.Verifier?.IsCorrect(prompt, c.Text),
                Answer = prompt.Answer,
                Round = ctx.Round,
                Policy = policy,
                RewardModel = rewardModel,
            }).ToArray();
            scoreTime.Stop();
            return rows;
        }, options);
        var batch = new BatchBlock<CandidateRow[]>(config.Sampling.PartSize, new GroupingDataflowBlockOptions { BoundedCapacity = config.Sampling.PartSize, CancellationToken = ct });
        var write = new ActionBlock<CandidateRow[][]>(async prompts =>
        {
            writeTime.Start();
            string path = Path.Combine(ctx.PartsDirectory, $"part-{partNumber++:00000}.parquet");
            var rows = prompts.SelectMany(p => p).ToList();
            await ctx.Resilience.Io.ExecuteAsync(async token => await ParquetSerializer.SerializeAsync(rows, path, RowFiles.Options(), token), ct);
            writeTime.Stop();
            finished += prompts.Length;
            ctx.Report(Stage.Sample, finished, total, $"{finished} prompts", tokens / Math.Max(1e-9, wall.Elapsed.TotalSeconds));
        }, new ExecutionDataflowBlockOptions { BoundedCapacity = 2, MaxDegreeOfParallelism = 1, CancellationToken = ct });
        var link = new DataflowLinkOptions { PropagateCompletion = true };
        Datasets.DatasetReader<Datasets.PromptRecord>? promptReader = null;
        score.LinkTo(batch, link);
        batch.LinkTo(write, link);

        try
        {
            int index = 0;
            var (source, reader) = ctx.OpenPrompts(config.Prompts.Path, config.Prompts.Limit, "prompts", ct);
            promptReader = reader;
            var prompts = source
                .Select(p => new PromptItem(index++, p))
                .Where(p => !done.Contains(p.Prompt.Id));
            sampleTime.Start();
            await foreach (var item in sampler.SampleAsync(prompts, config.Seed, ctx.Round, "sample", config.Prompts.Path, ct))
            {
                sampleTime.Stop();
                tokens += item.Result.Candidates.Sum(c => c.TokenCount);
                if (!await score.SendAsync(item, ct)) break; // the pipeline faulted: its exception surfaces below
                sampleTime.Start();
            }
            sampleTime.Stop();
            score.Complete();
            await write.Completion;
        }
        catch (Exception) when (score.Completion.IsFaulted || write.Completion.IsFaulted)
        {
            // The fault inside a block is the cause; report it rather than the cancellation it caused.
            await Task.WhenAll(score.Completion, write.Completion);
            throw;
        }
        finally
        {
            score.Complete();
        }
        if (score.Completion.IsFaulted) await score.Completion;
        return new StageTimes(sampleTime.Elapsed, scoreTime.Elapsed, writeTime.Elapsed, wall.Elapsed, tokens, promptReader?.RowsRejected ?? 0);
    }

    /// <summary>Prompt ids in the part files already written (a part is either whole or absent).</summary>
    internal static async Task<HashSet<string>> DonePromptsAsync(RoundContext ctx, CancellationToken ct)
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        if (!System.IO.Directory.Exists(ctx.PartsDirectory)) return done;
        foreach (var part in System.IO.Directory.GetFiles(ctx.PartsDirectory, "part-*.parquet").Order(StringComparer.Ordinal))
            await foreach (var row in ParquetSerializer.DeserializeAsync<CandidateRow>(part, RowFiles.Options(), ct)) done.Add(row.PromptId);
        return done;
    }

    /// <summary>Every candidate in the part files, in prompt order then candidate order.</summary>
    internal static async Task<List<CandidateRow>> ReadPartsAsync(RoundContext ctx, CancellationToken ct)
    {
        var rows = new List<CandidateRow>();
        foreach (var part in System.IO.Directory.GetFiles(ctx.PartsDirectory, "part-*.parquet").Order(StringComparer.Ordinal))
            await foreach (var row in ParquetSerializer.DeserializeAsync<CandidateRow>(part, RowFiles.Options(), ct)) rows.Add(row);
        return rows.OrderBy(r => r.PromptIndex).ThenBy(r => r.Candidate).ToList();
    }
}
