using System.Diagnostics;
using Flywheel.Llama;
using Flywheel.Pipeline;
using Flywheel.Pipeline.Datasets;
using Flywheel.Pipeline.Resilience;
using Flywheel.Pipeline.Runs;
using Flywheel.Pipeline.Stages;
using Flywheel.Pipeline.Verifiers;

namespace Flywheel.Cli.Tests;

/// <summary>
/// A fault inside the sample → score → write pipeline ends the stage with its cause, never a hang; and trainings are
/// not cut short by the timeout meant for single backend calls.
/// </summary>
public class PipelineFaultTests
{
    // Only turns a hang into a failure: the stages here take seconds.
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task A_full_disk_under_the_part_files_fails_the_run_with_exit_1_and_one_line_instead_of_hanging()
    {
        // Enough prompts after the first part that the score block's bounded buffer fills once writing has failed.
        var setup = new TinyRun(prompts: 24, rounds: 1, partSize: 2);
        using var disk = SmallDisk.MountFull(Path.Combine(setup.RunDir(), "round-001", "parts"));
        var r = await CliRunner.RunAsync("run", "--config", setup.ConfigPath, "--run-dir", setup.RunDir(), "--quiet").WaitAsync(HangGuard);
        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.Error.TrimEnd().Split('\n'));
        Assert.Contains("round 1, stage sample: ", line);
        Assert.Contains("No space left on device", line);
        Assert.Equal(StageState.Failed, RunStore.Open(setup.RunDir()).StageState(1, Stage.Sample));
    }

    [Fact]
    public async Task A_fault_in_scoring_ends_the_stage_with_its_cause()
    {
        string run = await CompletedRoundAsync();
        var ctx = await Round1Async(run, new ResiliencePipelines(_ => { }), new FailingVerifier(failOnCall: 10));
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => SampleScoreStage.RunAsync(ctx, CancellationToken.None).WaitAsync(HangGuard));
        Assert.Equal(FailingVerifier.Message, e.Message);
    }

    [Fact]
    public async Task Trainings_are_not_cut_short_by_the_backend_timeout()
    {
        string run = await CompletedRoundAsync();
        var log = new List<string>();
        var timeout = TimeSpan.FromMilliseconds(20);
        // Many epochs: each training surely outlasts the timeout, which around a whole training would cancel it every time.
        var ctx = await Round1Async(run, new ResiliencePipelines(log.Add, new ResilienceOptions { BackendTimeout = timeout }), epochs: 100);
        var clock = Stopwatch.StartNew();
        await TrainRewardModelStage.RunAsync(ctx, CancellationToken.None);
        Assert.True(clock.Elapsed > timeout, $"the reward model trained in {clock.Elapsed}, within the timeout");
        clock.Restart();
        await SftStage.RunAsync(ctx, CancellationToken.None);
        Assert.True(clock.Elapsed > timeout, $"the policy trained in {clock.Elapsed}, within the timeout");
        Assert.DoesNotContain(log, l => l.StartsWith("retrying", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_broken_file_the_run_wrote_is_a_failure_of_the_run_with_exit_1_not_bad_input()
    {
        string run = await CompletedRoundAsync();
        var setup = Path.GetDirectoryName(run)!;
        string policy = Path.Combine(run, "round-001", "policy.gguf");
        File.WriteAllBytes(policy, File.ReadAllBytes(policy)[..100]);
        var r = await CliRunner.RunAsync("run", "--config", Path.Combine(setup, "flywheel.json"), "--run-dir", run, "--rounds", "2", "--quiet");
        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.Error.TrimEnd().Split('\n'));
        Assert.StartsWith($"flywheel: {policy}: ", line);
    }

    [Fact]
    public async Task A_model_the_config_names_that_llama_cpp_cannot_read_is_bad_input_named_by_its_key()
    {
        var setup = new TinyRun(rounds: 1);
        File.WriteAllText(Path.Combine(setup.Directory, "policy.gguf"), "not a model");
        var r = await CliRunner.RunAsync("run", "--config", setup.ConfigPath, "--run-dir", setup.RunDir(), "--quiet");
        Assert.Equal(2, r.ExitCode);
        string line = Assert.Single(r.Error.TrimEnd().Split('\n'));
        Assert.StartsWith($"flywheel: $.policy.model: {Path.Combine(setup.Directory, "policy.gguf")}: ", line);
    }

    /// <summary>A tiny run's round 1, done: its pairs, reward model and kept rows are there for a stage to run again.</summary>
    private static async Task<string> CompletedRoundAsync()
    {
        var setup = new TinyRun(rounds: 1);
        var r = await CliRunner.RunAsync("run", "--config", setup.ConfigPath, "--run-dir", setup.RunDir(), "--quiet");
        Assert.True(r.ExitCode == 0, r.Error);
        return setup.RunDir();
    }

    private static async Task<RoundContext> Round1Async(string run, ResiliencePipelines resilience, IVerifier? verifier = null, int? epochs = null)
    {
        var store = RunStore.Open(run);
        var config = store.Config;
        if (epochs is int n) config = config with { RewardModel = config.RewardModel with { Epochs = n }, Sft = config.Sft with { Epochs = n } };
        var checks = await RunChecks.RunAsync(config, store.FromRecorded(store.Manifest.Round(1).Policy!), verifier, skipBad: false, CancellationToken.None);
        return new RoundContext
        {
            Store = store,
            Config = config,
            Round = 1,
            Device = ComputeDevice.Cpu,
            Resilience = resilience,
            Progress = new Progress<PipelineEvent>(),
            Log = _ => { },
            Verifier = verifier,
            // The runner sizes the samplers by what its checks measure: so do these stages run alone.
            LongestPrompt = checks.LongestPrompt,
            SelectionPrompts = checks.SelectionPrompts,
        };
    }

    /// <summary>Judges like the exact verifier until its n-th call, which throws: a fault inside the score block.</summary>
    private sealed class FailingVerifier(int failOnCall) : IVerifier
    {
        public const string Message = "injected verifier fault";
        private int _calls;

        public string Name => "failing";

        public string? ExtractAnswer(string completion) => completion.Trim();

        public bool IsCorrect(PromptRecord prompt, string completion) =>
            Interlocked.Increment(ref _calls) == failOnCall ? throw new InvalidOperationException(Message) : completion.Trim() == prompt.Answer;

        public string? ReferenceProblem(PromptRecord prompt) => null;
    }
}
