using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Runs;

namespace Flywheel.Pipeline.Tests.Runs;

public class RunStoreTests
{
    private static readonly FlywheelConfig Config = new()
    {
        Name = "t",
        Policy = new PolicyConfig { Model = "/m.gguf" },
        Prompts = new PromptsConfig { Path = "/p.jsonl" },
        Preferences = [new PreferenceSourceConfig { Path = "/pairs.jsonl" }],
    };

    private static string Dir() => Path.Combine(Directory.CreateTempSubdirectory("flywheel-run-").FullName, "run");

    [Fact]
    public void Stage_states_and_metrics_survive_reopening()
    {
        string dir = Dir();
        var store = RunStore.OpenOrCreate(dir, Config, 2, force: false);
        store.SetStage(1, Stage.Gather, StageState.Done, m => m with { Pairs = 10 });
        store.SetStage(1, Stage.TrainRm, StageState.Running);
        var again = RunStore.Open(dir);
        Assert.Equal(StageState.Done, again.StageState(1, Stage.Gather));
        Assert.Equal(StageState.Running, again.StageState(1, Stage.TrainRm));
        Assert.Equal(10, again.Manifest.Round(1).Metrics.Pairs);
        Assert.Equal(StageState.Running, again.Manifest.Round(1).State);
        Assert.Equal(ConfigLoader.ToJson(Config), ConfigLoader.ToJson(again.Config));
    }

    [Fact]
    public void Reopening_with_a_changed_config_is_refused_naming_the_change_unless_forced()
    {
        string dir = Dir();
        RunStore.OpenOrCreate(dir, Config, 2, force: false);
        var changed = Config with { Sampling = Config.Sampling with { K = 4 } };
        var e = Assert.Throws<ConfigException>(() => RunStore.OpenOrCreate(dir, changed, 2, force: false));
        Assert.Contains("$.sampling.k", e.Message);
        Assert.Contains("--force", e.Message);
        Assert.Equal(4, RunStore.OpenOrCreate(dir, changed, 2, force: true).Config.Sampling.K);
        // More rounds is not a change of config: the run just goes on.
        Assert.Equal(9, RunStore.OpenOrCreate(dir, changed with { Rounds = 9 }, 9, force: false).Manifest.RoundsPlanned);
    }

    [Fact]
    public void Reset_from_a_round_and_stage_forgets_what_came_after()
    {
        string dir = Dir();
        var store = RunStore.OpenOrCreate(dir, Config, 3, force: false);
        foreach (int r in new[] { 1, 2, 3 })
            foreach (var s in Stage.All) store.SetStage(r, s, StageState.Done);
        Directory.CreateDirectory(store.RoundDirectory(3));
        store.ResetFrom(2, Stage.Sample);
        Assert.Equal(2, store.Manifest.Rounds.Count);
        Assert.False(Directory.Exists(store.RoundDirectory(3)));
        Assert.Equal(StageState.Done, store.StageState(2, Stage.TrainRm));
        Assert.Equal(StageState.Pending, store.StageState(2, Stage.Sample));
        Assert.Equal(StageState.Pending, store.StageState(2, Stage.Sft));
        Assert.True(store.Manifest.Round(1).IsDone);
    }

    [Fact]
    public void Temporary_files_a_killed_process_left_are_removed_and_atomic_writes_leave_none()
    {
        string dir = Dir();
        var store = RunStore.OpenOrCreate(dir, Config, 1, force: false);
        string leftover = Path.Combine(store.RoundDirectory(1), "parts", "part-00000.parquet.tmp-123-abc");
        Directory.CreateDirectory(Path.GetDirectoryName(leftover)!);
        File.WriteAllText(leftover, "half");
        RunStore.Open(dir);
        Assert.False(File.Exists(leftover));
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Commit(Path.Combine(dir, "x.txt"), temp =>
        {
            File.WriteAllText(temp, "partial");
            throw new InvalidOperationException("crash");
        }));
        Assert.Empty(Directory.GetFiles(dir, "x.txt*"));
    }
}
