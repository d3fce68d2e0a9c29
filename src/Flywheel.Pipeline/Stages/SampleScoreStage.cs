using System.Diagnostics;
using System.Threading.Tasks.Dataflow;
using Flywheel.Parquet;
using Flywheel.Pipeline.Config;
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
/// as they arrive, and part files are written as prompts complete. Part k holds prompts [k·P, (k+1)·P) of the prompts
/// file (P = part_size; prompts finishing out of order wait in a small reorder buffer), so a killed run continues
/// after the prompts its parts hold, loses at most the parts in flight, and the parts read back in prompt order.
/// </summary>
internal static class SampleScoreStage
{
    public static async Task<StageTimes> RunAsync(RoundContext ctx, CancellationToken ct)
    {
        var config = ctx.Config;
        System.IO.Directory.CreateDirectory(ctx.PartsDirectory);
        int done = await PartFiles.DonePromptCountAsync(ctx, ct);
        int partNumber = PartFiles.List(ctx).Count;
        if (done > 0) ctx.Log($"round {ctx.Round}: {done} prompts already sampled and scored; continuing");

        int samplerThreads = ctx.Threads > 1 ? ctx.Threads - 1 : 1;
        using var sampler = PromptSamplers.ForSelection(ctx, samplerThreads);
        // The scorer (TorchSharp) takes the core the sampler (llama.cpp) leaves free: the two run side by side.
        using var scorer = RewardScorer.Load(ctx.RewardModelPath, new RewardScorerOptions
        {
            Threads = 1,
            Device = ctx.Device,
            Template = config.Policy.NamedTemplate(),
        });
        bool sharesVocabulary = config.RewardModel.Init == "policy";
        string policy = Path.GetFileName(Path.GetDirectoryName(ctx.PolicyPath)) + "/" + Path.GetFileName(ctx.PolicyPath);
        string rewardModel = $"round-{ctx.Round:000}/rm";
        var scoreTime = new Stopwatch();
        var writeTime = new Stopwatch();
        var wall = Stopwatch.StartNew();
        long tokens = 0, finished = done;
        long total = ctx.SelectionPrompts;

        // The blocks and the sampler stop on this token too: when sampling fails the blocks must stop, and be waited
        // for, before the scorer and the sampler they use are disposed; when a block faults, everything else must stop.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var options = new ExecutionDataflowBlockOptions { BoundedCapacity = 4, MaxDegreeOfParallelism = 1, CancellationToken = stop.Token };
        string promptsFile = Path.GetFileName(config.Prompts.Path);
        var score = new TransformBlock<(PromptItem Item, Llama.Sampling.GenerationResult Result), CandidateRow[]>(x => Attributed(x.Item, promptsFile, () =>
        {
            scoreTime.Start();
            var prompt = x.Item.Prompt;
            // One prompt's K candidates are scored together, whatever else is in flight: rewards do not depend on
            // what a resumed run happens to batch them with. A reward model made from the policy shares its
            // vocabulary and scores the tokens as sampled; another one reads the text.
            float[] rewards = ctx.Resilience.Backend.Execute(token => sharesVocabulary
                ? scorer.Score(x.Result.Candidates.Select(c => new SampledReply(x.Result.Request.PromptTokens, c.Tokens)).ToList(), cancellationToken: token)
                : scorer.Score(x.Result.Candidates.Select(c => new RewardQuery(prompt.Messages, c.Text)).ToList(), cancellationToken: token), stop.Token);
            var rows = x.Result.Candidates.Select(c => new CandidateRow
            {
                PromptId = prompt.Id,
                PromptIndex = x.Item.Index,
                Prompt = prompt.Messages.LastOrDefault(m => m.Role == "user")?.Content ?? "",
                PromptMessages = prompt.Messages.Select(m => new MessageRow(m.Role, m.Content)).ToList(),
                Candidate = c.Index,
                Completion = c.Text,
                Tokens = c.TokenCount,
                TokenIds = c.Tokens,
                PromptTokenIds = x.Result.Request.PromptTokens,
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
        }), options);
        // Prompts that finished ahead of their turn wait here until the part they belong to can be written in order.
        var pending = new SortedDictionary<int, CandidateRow[]>();
        var ready = new List<CandidateRow[]>();
        int next = done;
        async Task WritePartAsync()
        {
            writeTime.Start();
            string path = Path.Combine(ctx.PartsDirectory, $"part-{partNumber++:00000}.parquet");
            var rows = ready.SelectMany(p => p).ToList();
            await ctx.Resilience.Io.ExecuteAsync(async token => await ParquetSerializer.SerializeAsync(rows, path, RowFiles.Options(), token), stop.Token);
            writeTime.Stop();
            finished += ready.Count;
            ready.Clear();
            ctx.Report(Stage.Sample, finished, total, $"{finished} prompts", tokens / Math.Max(1e-9, wall.Elapsed.TotalSeconds));
        }
        var write = new ActionBlock<CandidateRow[]>(async prompt =>
        {
            // Not an ArgumentException, which would read as bad input (exit 2): a prompt seen twice is a failure of the run.
            if (!pending.TryAdd(prompt[0].PromptIndex, prompt))
                throw new InvalidOperationException($"round {ctx.Round}: prompt {prompt[0].PromptIndex} came back from sampling twice");
            while (pending.Remove(next, out var inOrder))
            {
                ready.Add(inOrder);
                next++;
                if (ready.Count == config.Sampling.PartSize) await WritePartAsync();
            }
        }, new ExecutionDataflowBlockOptions { BoundedCapacity = 2, MaxDegreeOfParallelism = 1, CancellationToken = stop.Token });
        var link = new DataflowLinkOptions { PropagateCompletion = true };
        Datasets.DatasetReader<Datasets.PromptRecord>? promptReader = null;
        score.LinkTo(write, link);
        // A faulted write block unlinks itself from the score block, whose bounded output then fills: the score block
        // never completes and SendAsync waits forever. So a fault in either block cancels everything else.
        async Task CancelOnFaultAsync(Task completion)
        {
            await completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (completion.IsFaulted) await stop.CancelAsync();
        }
        var cancelOnFault = Task.WhenAll(CancelOnFaultAsync(score.Completion), CancelOnFaultAsync(write.Completion));

        try
        {
            int index = 0;
            var (source, reader) = ctx.OpenPrompts(config.Prompts.Path, config.Prompts.Limit, "prompts", sampler.Problem, ct);
            promptReader = reader;
            var prompts = source
                .Select(p => new PromptItem(index++, p))
                .Where(p => p.Index >= done);
            await foreach (var item in sampler.SampleAsync(prompts, config.Seed, ctx.Round, "sample", stop.Token))
            {
                tokens += item.Result.Candidates.Sum(c => c.TokenCount);
                if (!await score.SendAsync(item, stop.Token)) break; // the pipeline faulted: its exception surfaces below
            }
            score.Complete();
            await write.Completion;
            if (pending.Count > 0) throw new InvalidOperationException($"round {ctx.Round}: prompts {string.Join(", ", pending.Keys.Take(5))} were scored but prompt {next} never came back");
            if (ready.Count > 0) await WritePartAsync();
        }
        catch (Exception) when (score.Completion.IsFaulted || write.Completion.IsFaulted)
        {
            // The fault inside a block is the cause; report it rather than the cancellation it caused.
            await Task.WhenAll(score.Completion, write.Completion);
            throw;
        }
        catch
        {
            await stop.CancelAsync();
            try { await Task.WhenAll(score.Completion, write.Completion); }
            catch (OperationCanceledException) { } // the blocks stopped, as asked
            throw;
        }
        finally
        {
            // Both blocks have completed by now; this only lets the watch on them finish before stop is disposed.
            await cancelOnFault;
        }
        return new StageTimes(sampler.BusyTime, scoreTime.Elapsed, writeTime.Elapsed, wall.Elapsed, tokens, promptReader?.RowsRejected ?? 0);
    }

    /// <summary>Runs one prompt's work; a failure that is not bad input names the prompt, so the run's one line says which.</summary>
    private static T Attributed<T>(PromptItem item, string file, Func<T> work)
    {
        try
        {
            return work();
        }
        catch (Exception e) when (e is not OperationCanceledException and not InputException)
        {
            throw new ItemFailedException($"prompt {item.Prompt.Id} (#{item.Index + 1} of {file})", e);
        }
    }
}
