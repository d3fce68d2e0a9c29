using Flywheel.Llama;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Datasets;
using Flywheel.Pipeline.Resilience;
using Flywheel.Pipeline.Runs;
using Flywheel.Pipeline.Stages;
using Flywheel.Pipeline.Verifiers;

namespace Flywheel.Pipeline;

/// <summary>Options for <see cref="FlywheelRunner.RunAsync"/>.</summary>
public sealed record RunOptions
{
    /// <summary>Overrides the config's device (auto, cpu, cuda).</summary>
    public string? Device { get; init; }

    public IProgress<PipelineEvent>? Progress { get; init; }

    /// <summary>Receives log lines: retries, resumptions, truncations.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Bad dataset rows go to rejects files in the round's folder, counted in the metrics, instead of stopping the run.</summary>
    public bool SkipBad { get; init; }

    /// <summary>Retries and the timeout of single model-backend calls; null: the config's ($.resilience).</summary>
    public ResilienceOptions? Resilience { get; init; }
}

/// <summary>
/// Runs a flywheel: every round's stages in order, skipping what run.json says is done, so running it again after a
/// crash or Ctrl-C continues where it stopped. Finally measures the last policy's pass@1 where a verifier exists.
/// </summary>
public static class FlywheelRunner
{
    public static async Task RunAsync(RunStore store, RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        options ??= new RunOptions();
        var config = store.Config;
        var device = ParseDevice(options.Device ?? config.Device);
        LlamaBackend.Initialize(new BackendOptions { Device = device });
        var log = options.Log ?? (_ => { });
        var resilience = new ResiliencePipelines(log, options.Resilience ?? config.Resilience.ToOptions());
        if (store.ForcedRedo is { } redo)
            log($"the config changed ({string.Join(", ", store.ForcedChanges.Take(5))}): redoing from round 1, stage {redo}");
        IVerifier? verifier = config.Verifier is { } v ? Verifier.Create(v) : null;
        bool roundsLeft = Enumerable.Range(1, store.Manifest.RoundsPlanned).Any(r => !store.Manifest.Round(r).IsDone);
        // A run extended (or shortened) since has another last policy, so the figure of the old one no longer holds.
        if (store.Manifest.FinalPolicyPassAt1 is not null && !MeasuredOnFinalPolicy(store, config))
            store.Update(m => (m.FinalPolicyPassAt1, m.FinalPolicy) = (null, null));
        bool evaluationLeft = verifier is not null && (store.Manifest.InitialPolicyPassAt1 is null || store.Manifest.FinalPolicyPassAt1 is null);
        // Every sampler is sized by the longest prompt, which these checks measure; nothing samples without them.
        var checks = roundsLeft || evaluationLeft
            ? await RunChecks.RunAsync(config, NextPolicy(store, config), verifier, options.SkipBad, cancellationToken)
            : new RunCheckResult(0, 0);
        if (roundsLeft && config.Sampling.Backend == "openai") await Sampling.Remote.EndpointChecks.RunAsync(config, store.Manifest.RoundsPlanned, cancellationToken);

        for (int round = 1; round <= store.Manifest.RoundsPlanned; round++)
        {
            var record = store.Manifest.Round(round);
            if (record.IsDone) continue;
            if (record.Policy is null)
            {
                string policy = PolicyFor(store, config, round);
                Bookkeeping(round, () => store.Update(m => m.Round(round).Policy = store.ToRecorded(policy)));
            }
            var ctx = new RoundContext
            {
                Store = store,
                Config = config,
                Round = round,
                Device = device,
                Resilience = resilience,
                Progress = options.Progress ?? new Progress<PipelineEvent>(),
                Log = log,
                Verifier = verifier,
                SkipBad = options.SkipBad,
                LongestPrompt = checks.LongestPrompt,
                SelectionPrompts = checks.SelectionPrompts,
            };
            await RunStageAsync(ctx, Stage.Gather, async ct =>
            {
                var (pairs, rejected) = await GatherStage.RunAsync(ctx, ct);
                return m => m with { Pairs = pairs, PairsRejected = rejected, RowsRejected = rejected + (m.PromptsRejected ?? 0) };
            }, cancellationToken);
            await RunStageAsync(ctx, Stage.TrainRm, async ct =>
            {
                var (accuracy, truncated) = await TrainRewardModelStage.RunAsync(ctx, ct);
                return m => m with { RmEvalAccuracy = accuracy, PairsTruncated = truncated };
            }, cancellationToken, r => r.RewardModel = store.ToRecorded(ctx.RewardModelPath));
            if (store.StageState(round, Stage.Score) != StageState.Done)
            {
                await RunStageAsync(ctx, Stage.Sample, async ct =>
                {
                    store.SetStage(round, Stage.Score, StageState.Running);
                    var times = await SampleScoreStage.RunAsync(ctx, ct);
                    log($"round {round}: sample {times.Sample.TotalSeconds:F1}s, score {times.Score.TotalSeconds:F1}s, write {times.Write.TotalSeconds:F1}s busy in {times.Wall.TotalSeconds:F1}s");
                    // A manifest from before the per-stage counts has only the total: gather's count until sampling first ran.
                    return m => m with
                    {
                        TokensPerSecond = times.TokensPerSecond,
                        PromptsRejected = times.PromptsRejected,
                        RowsRejected = (m.PairsRejected ?? m.RowsRejected ?? 0) + times.PromptsRejected,
                    };
                }, cancellationToken, r => r.Stages[Stage.Score] = StageState.Done);
                // A run.json from before sample and score were recorded in one save can have sample done alone.
                if (store.StageState(round, Stage.Score) != StageState.Done) Bookkeeping(round, () => store.SetStage(round, Stage.Score, StageState.Done));
            }
            await RunStageAsync(ctx, Stage.Select, async ct =>
            {
                var metrics = await SelectStage.RunAsync(ctx, store.Manifest.Round(round).Metrics, ct);
                return _ => metrics;
            }, cancellationToken);
            await RunStageAsync(ctx, Stage.Write, async ct =>
            {
                await WriteStage.RunAsync(ctx, ct);
                return m => m;
            }, cancellationToken);
            PartFiles.Remove(ctx);
            if (config.Sft.Enabled)
            {
                await RunStageAsync(ctx, Stage.Sft, async ct =>
                {
                    await SftStage.RunAsync(ctx, ct);
                    return m => m;
                }, cancellationToken);
            }
            else if (store.StageState(round, Stage.Sft) != StageState.Skipped)
            {
                Bookkeeping(round, () => store.SetStage(round, Stage.Sft, StageState.Skipped));
            }
            await BookkeepingAsync(round, () => WriteReportsAsync(store, cancellationToken));
        }

        if (verifier is not null && store.Manifest.Rounds.Count > 0)
        {
            var prompts = config.Evaluation is { } e ? e with { SystemPrompt = e.SystemPrompt ?? config.Prompts.SystemPrompt } : config.Prompts;
            int threads = config.Threads ?? LlamaBackend.DefaultThreadCount;
            string? rejects = options.SkipBad ? Path.Combine(store.Directory, "rejects-evaluation.jsonl") : null;
            if (store.Manifest.InitialPolicyPassAt1 is null)
            {
                double initial = await EvaluationStage.PassAt1Async(store, config, prompts, config.Policy.Model, verifier, threads, checks.LongestPrompt, rejects, options.Progress, cancellationToken);
                store.Update(m => m.InitialPolicyPassAt1 = initial);
            }
            if (store.Manifest.FinalPolicyPassAt1 is null)
            {
                string last = FinalPolicy(store, config);
                double final = await EvaluationStage.PassAt1Async(store, config, prompts, last, verifier, threads, checks.LongestPrompt, rejects, options.Progress, cancellationToken);
                store.Update(m => (m.FinalPolicyPassAt1, m.FinalPolicy, m.PassAt1Prompts) = (final, store.ToRecorded(last), store.ToRecorded(prompts.Path)));
            }
            await WriteReportsAsync(store, cancellationToken);
        }
    }

    /// <summary>
    /// Prepares a run to redo from <paramref name="stage"/> of <paramref name="round"/> (resume --from-round): what the
    /// redone stages read from the stages kept must still be there, else this throws before anything changes; then part
    /// files of an earlier sampling pass are removed (a new pass must not take them for its own) and what came after is
    /// forgotten. Sampling and scoring are one streaming pass, so redoing score redoes sampling too.
    /// </summary>
    public static void RedoFrom(RunStore store, int round, string stage)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (stage == Stage.Score) stage = Stage.Sample;
        int from = Stage.IndexOf(stage);
        if (round >= 1 && round <= store.Manifest.Rounds.Count)
        {
            // Only the round's paths are used.
            var ctx = new RoundContext
            {
                Store = store,
                Config = store.Config,
                Round = round,
                Device = ComputeDevice.Cpu,
                Resilience = new ResiliencePipelines(_ => { }),
                Progress = new Progress<PipelineEvent>(),
                Log = _ => { },
            };
            if (MissingForRedo(ctx, stage) is { } missing)
                throw new InputException($"cannot redo round {round} from {stage}: {missing} is gone; redo from an earlier stage");
            if (from <= Stage.IndexOf(Stage.Sample) && Directory.Exists(ctx.PartsDirectory)) Directory.Delete(ctx.PartsDirectory, recursive: true);
        }
        store.ResetFrom(round, stage);
    }

    /// <summary>The first file, written by a stage that redoing from <paramref name="stage"/> keeps, that the redone stages read and that is gone.</summary>
    private static string? MissingForRedo(RoundContext ctx, string stage)
    {
        bool Kept(string s) => ctx.Store.StageState(ctx.Round, s) == StageState.Done;
        var needed = new List<string>();
        if (ctx.Store.Manifest.Round(ctx.Round).Policy is not null) needed.Add(ctx.PolicyPath);
        switch (stage)
        {
            case Stage.TrainRm when Kept(Stage.Gather):
                needed.Add(ctx.PairsPath);
                break;
            case Stage.Sample when Kept(Stage.TrainRm):
                needed.Add(ctx.RewardModelPath);
                break;
            // Without the part files (a finished round has none) select and write rebuild them from candidates.parquet.
            case Stage.Select or Stage.Write when Kept(Stage.Score) && !Directory.Exists(ctx.PartsDirectory):
                needed.Add(ctx.CandidatesPath);
                break;
            case Stage.Sft when Kept(Stage.Write):
                needed.Add(ctx.SftPath);
                break;
        }
        return needed.FirstOrDefault(p => !File.Exists(p));
    }

    /// <summary>The run's HTML report, rewritten after every round.</summary>
    public static string ReportPath(RunStore store) => Path.Combine(store.Directory, "report.html");

    /// <summary>The report and TensorBoard's round figures, from one read of the rounds' files.</summary>
    private static async Task WriteReportsAsync(RunStore store, CancellationToken ct)
    {
        var rounds = await Reports.RoundData.LoadAllAsync(store.Manifest, store.Directory, ct);
        Reports.RunReport.Write(store.Manifest, ReportPath(store), rounds);
        Reports.TensorBoardLog.WriteRounds(store.Manifest, store.Directory, rounds);
    }

    /// <summary>A device as the config and the command line name it: auto, cpu or cuda.</summary>
    internal static ComputeDevice ParseDevice(string device) => device switch
    {
        "cpu" => ComputeDevice.Cpu,
        "cuda" => ComputeDevice.Cuda,
        _ => ComputeDevice.Auto,
    };

    /// <summary>The policy the first round not yet done samples with (the config's, once every round is done).</summary>
    private static string NextPolicy(RunStore store, FlywheelConfig config)
    {
        for (int round = 1; round <= store.Manifest.RoundsPlanned; round++)
        {
            var record = store.Manifest.Round(round);
            if (!record.IsDone) return record.Policy is { } recorded ? store.FromRecorded(recorded) : PolicyFor(store, config, round);
        }
        return config.Policy.Model;
    }

    /// <summary>The policy the last planned round's SFT produced (the one it sampled with when SFT is off).</summary>
    private static string FinalPolicy(RunStore store, FlywheelConfig config) => PolicyFor(store, config, store.Manifest.RoundsPlanned + 1);

    /// <summary>Whether final pass@1 was measured on today's last policy (a manifest that does not say is taken as not).</summary>
    private static bool MeasuredOnFinalPolicy(RunStore store, FlywheelConfig config) =>
        store.Manifest.FinalPolicy is { } measured && store.FromRecorded(measured) == Path.GetFullPath(FinalPolicy(store, config));

    /// <summary>Round 1 samples with the config's policy; a later round with the previous round's SFT output.</summary>
    private static string PolicyFor(RunStore store, FlywheelConfig config, int round)
    {
        if (round == 1) return config.Policy.Model;
        var previous = store.Manifest.Round(round - 1);
        return previous.Stages[Stage.Sft] == StageState.Done
            ? Path.Combine(store.RoundDirectory(round - 1), "policy.gguf")
            : previous.Policy is { } recorded ? store.FromRecorded(recorded) : config.Policy.Model;
    }

    private static async Task RunStageAsync(RoundContext ctx, string stage, Func<CancellationToken, Task<Func<RoundMetrics, RoundMetrics>>> run,
        CancellationToken ct, Action<RoundRecord>? update = null)
    {
        if (ctx.Store.StageState(ctx.Round, stage) is StageState.Done or StageState.Skipped) return;
        ctx.Store.SetStage(ctx.Round, stage, StageState.Running);
        ctx.Report(stage, 0, null, "started");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            var metrics = await run(ct);
            ctx.Store.SetStage(ctx.Round, stage, StageState.Done, metrics, r =>
            {
                update?.Invoke(r);
                r.StageSeconds[stage] = clock.Elapsed.TotalSeconds;
            });
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            TryRecord(ctx, stage, StageState.Pending);
            throw;
        }
        catch (Exception e)
        {
            TryRecord(ctx, stage, StageState.Failed);
            throw new StageFailedException(ctx.Round, stage, e);
        }
        ctx.Report(stage, 1, 1, "done");
    }

    /// <summary>A round's own writes between its stages (run.json, the report): a failure there names the round.</summary>
    private static void Bookkeeping(int round, Action write) =>
        BookkeepingAsync(round, () =>
        {
            write();
            return Task.CompletedTask;
        }).GetAwaiter().GetResult();

    private static async Task BookkeepingAsync(int round, Func<Task> write)
    {
        try
        {
            await write();
        }
        catch (IOException e)
        {
            throw new StageFailedException(round, null, e);
        }
    }

    /// <summary>
    /// Records how a stage ended where run.json can still be saved. On a full disk it cannot: run.json keeps the stage
    /// running, which a resumed run redoes as after a kill, and the cause of the failure is what gets reported.
    /// </summary>
    private static void TryRecord(RoundContext ctx, string stage, string state)
    {
        try
        {
            ctx.Store.SetStage(ctx.Round, stage, state);
        }
        catch (IOException e)
        {
            ctx.Log($"round {ctx.Round}, stage {stage}: could not record it as {state} in run.json: {e.Message}");
        }
    }
}
