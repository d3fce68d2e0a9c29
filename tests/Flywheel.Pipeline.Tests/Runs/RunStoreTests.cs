using Flywheel.Files;
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
        RunStore.OpenOrCreate(dir, Config, 2, force: false).Dispose();
        var changed = Config with { Sampling = Config.Sampling with { K = 4 } };
        var e = Assert.Throws<ConfigException>(() => RunStore.OpenOrCreate(dir, changed, 2, force: false));
        Assert.Contains("$.sampling.k", e.Message);
        Assert.Contains("--force", e.Message);
        using (var forced = RunStore.OpenOrCreate(dir, changed, 2, force: true)) Assert.Equal(4, forced.Config.Sampling.K);
        // More rounds is not a change of config: the run just goes on.
        using var more = RunStore.OpenOrCreate(dir, changed with { Rounds = 9 }, 9, force: false);
        Assert.Equal(9, more.Manifest.RoundsPlanned);
    }

    [Fact]
    public void A_clone_moved_as_a_whole_reopens_without_force_and_finds_its_files_in_the_new_place()
    {
        string root = Directory.CreateTempSubdirectory("flywheel-move-").FullName;
        string clone = Path.Combine(root, "a");
        Directory.CreateDirectory(clone);
        File.WriteAllText(Path.Combine(clone, "flywheel.json"), """
            { "name": "t", "policy": { "model": "models/p.gguf" }, "prompts": { "path": "p.jsonl" }, "preferences": [ { "path": "pairs.jsonl" } ] }
            """);
        var store = RunStore.OpenOrCreate(Path.Combine(clone, "runs", "t"), ConfigLoader.Load(Path.Combine(clone, "flywheel.json")), 2, force: false);
        store.Update(m => m.Round(1).Policy = store.ToRecorded(Path.Combine(clone, "models", "p.gguf")));
        store.Update(m => m.Round(2).Policy = store.ToRecorded(Path.Combine(store.RoundDirectory(1), "policy.gguf")));
        store.Dispose();

        string moved = Path.Combine(root, "b");
        Directory.Move(clone, moved);
        using var reopened = RunStore.OpenOrCreate(Path.Combine(moved, "runs", "t"), ConfigLoader.Load(Path.Combine(moved, "flywheel.json")), 2, force: false);
        Assert.Equal(Path.Combine(moved, "models", "p.gguf"), reopened.Config.Policy.Model);
        Assert.Equal(Path.Combine(moved, "pairs.jsonl"), reopened.Config.Preferences[0].Path);
        Assert.Equal(Path.Combine(moved, "models", "p.gguf"), reopened.FromRecorded(reopened.Manifest.Round(1).Policy!));
        Assert.Equal(Path.Combine(moved, "runs", "t", "round-001", "policy.gguf"), reopened.FromRecorded(reopened.Manifest.Round(2).Policy!));
        // resume opens the run alone, without a config file, and resolves the same way.
        Assert.Equal(Path.Combine(moved, "p.jsonl"), RunStore.Open(Path.Combine(moved, "runs", "t")).Config.Prompts.Path);
    }

    [Fact]
    public void The_same_files_named_another_way_are_not_a_change_of_config()
    {
        string dir = Dir();
        string data = Directory.CreateTempSubdirectory("flywheel-data-").FullName;
        var absolute = Config with { BaseDirectory = data, Policy = new PolicyConfig { Model = Path.Combine(data, "p.gguf") } };
        RunStore.OpenOrCreate(dir, absolute, 2, force: false).Dispose();
        var relative = absolute with { Policy = new PolicyConfig { Model = "p.gguf" } };
        Assert.NotEqual(ConfigLoader.Hash(absolute), ConfigLoader.Hash(relative));
        using var again = RunStore.OpenOrCreate(dir, relative, 2, force: false);
        Assert.Equal(Path.Combine(data, "p.gguf"), again.Config.Policy.Model);
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
    public void Redoing_score_redoes_the_sampling_pass_without_its_old_parts_and_refuses_while_the_reward_model_is_gone()
    {
        string dir = Dir();
        var store = RunStore.OpenOrCreate(dir, Config, 1, force: false);
        foreach (var s in new[] { Stage.Gather, Stage.TrainRm, Stage.Sample, Stage.Score }) store.SetStage(1, s, StageState.Done);
        string parts = Path.Combine(store.RoundDirectory(1), "parts");
        Directory.CreateDirectory(parts);
        File.WriteAllText(Path.Combine(parts, "part-00000.parquet"), "the earlier pass");

        var e = Assert.Throws<InputException>(() => FlywheelRunner.RedoFrom(store, 1, Stage.Score));
        Assert.Contains("model.gguf is gone", e.Message);
        Assert.True(Directory.Exists(parts));
        Assert.Equal(StageState.Done, store.StageState(1, Stage.Score));

        string rm = Path.Combine(store.RoundDirectory(1), "rm", "model.gguf");
        Directory.CreateDirectory(Path.GetDirectoryName(rm)!);
        File.WriteAllText(rm, "");
        FlywheelRunner.RedoFrom(store, 1, Stage.Score);
        Assert.False(Directory.Exists(parts));
        Assert.Equal(StageState.Pending, store.StageState(1, Stage.Sample));
        Assert.Equal(StageState.Done, RunStore.Open(dir).StageState(1, Stage.TrainRm));
    }

    [Fact]
    public void Temporary_files_a_killed_process_left_are_removed_by_the_next_run_and_atomic_writes_leave_none()
    {
        string dir = Dir();
        RunStore.OpenOrCreate(dir, Config, 1, force: false).Dispose();
        string leftover = Path.Combine(dir, "round-001", "parts", "part-00000.parquet.tmp-123-abc");
        Directory.CreateDirectory(Path.GetDirectoryName(leftover)!);
        File.WriteAllText(leftover, "half");
        RunStore.Open(dir);
        Assert.True(File.Exists(leftover)); // reading the run (status, export) touches nothing
        RunStore.OpenForUpdate(dir).Dispose();
        Assert.False(File.Exists(leftover));
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Commit(Path.Combine(dir, "x.txt"), temp =>
        {
            File.WriteAllText(temp, "partial");
            throw new InvalidOperationException("crash");
        }));
        Assert.Empty(Directory.GetFiles(dir, "x.txt*"));
    }

    [Fact]
    public void While_a_run_holds_its_folder_another_cannot_open_it_to_change_it_and_a_reader_deletes_none_of_its_files()
    {
        string dir = Dir();
        using (var running = RunStore.OpenOrCreate(dir, Config, 1, force: false))
        {
            string inFlight = Path.Combine(running.RoundDirectory(1), "parts", "part-00003.parquet.tmp-1-x");
            Directory.CreateDirectory(Path.GetDirectoryName(inFlight)!);
            File.WriteAllText(inFlight, "being written");
            var e = Assert.Throws<RunInUseException>(() => RunStore.OpenOrCreate(dir, Config, 1, force: false));
            Assert.Contains($"pid {Environment.ProcessId}", e.Message);
            Assert.Throws<RunInUseException>(() => RunStore.OpenForUpdate(dir));
            var reader = RunStore.Open(dir);
            Assert.Equal(1, reader.Manifest.RoundsPlanned);
            Assert.True(File.Exists(inFlight));
            Assert.Throws<InvalidOperationException>(() => reader.SetStage(1, Stage.Gather, StageState.Done));
        }
        // Released on dispose (and by the kernel when a process dies): the next run opens the folder.
        using var next = RunStore.OpenForUpdate(dir);
        Assert.Contains($"pid {Environment.ProcessId}", File.ReadAllText(Path.Combine(dir, "run.lock.holder")));
    }
}
