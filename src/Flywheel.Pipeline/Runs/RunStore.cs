using Flywheel.Files;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flywheel.Pipeline.Config;

namespace Flywheel.Pipeline.Runs;

/// <summary>
/// A run directory: run.json (written atomically after every change) and one folder per round. A stage is done only
/// when run.json says so. A store opened to change the run holds the folder's lock until disposed, and only then
/// removes what a killed process left half-written (temporary names); a store opened to read changes nothing.
/// </summary>
public sealed class RunStore : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(ConfigLoader.Json) { UnmappedMemberHandling = default };
    private readonly Lock _gate = new();
    private RunLock? _lock;

    private RunStore(string directory, RunManifest manifest)
    {
        Directory = directory;
        Manifest = manifest;
    }

    public string Directory { get; }
    public RunManifest Manifest { get; }

    /// <summary>The config keys --force changed from the run's (empty when it changed none).</summary>
    public IReadOnlyList<string> ForcedChanges { get; private set; } = [];

    /// <summary>The stage of round 1 the run was redone from because --force changed keys that feed it; null when none.</summary>
    public string? ForcedRedo { get; private set; }
    public string ManifestPath => Path.Combine(Directory, "run.json");

    public static string ManifestPathOf(string directory) => Path.Combine(directory, "run.json");

    /// <summary>
    /// Opens the run in <paramref name="directory"/>, creating it for <paramref name="config"/> if new. An existing run
    /// made with another config is refused, naming what changed, unless <paramref name="force"/>: then the run is
    /// redone from round 1's first stage the changed keys feed (see <see cref="ForcedRedo"/>), so that every row it
    /// ends with is the new config's. The same config moved elsewhere with its run (paths as written unchanged), or
    /// naming the same files otherwise, is not a change.
    /// </summary>
    public static RunStore OpenOrCreate(string directory, FlywheelConfig config, int roundsPlanned, bool force)
    {
        ArgumentNullException.ThrowIfNull(config);
        var store = Locked(directory, () => OpenOrCreateLocked(directory, config, roundsPlanned, force));
        try
        {
            // Redoing saves run.json, new config and all; when its input is gone it throws first, and the run keeps the old one.
            if (store.ForcedRedo is { } stage && store.Manifest.Rounds.Count > 0) FlywheelRunner.RedoFrom(store, 1, stage);
            else store.Save();
        }
        catch
        {
            store.Dispose();
            throw;
        }
        return store;
    }

    private static RunStore OpenOrCreateLocked(string directory, FlywheelConfig config, int roundsPlanned, bool force)
    {
        string hash = HashOf(config);
        RunStore store;
        if (File.Exists(ManifestPathOf(directory)))
        {
            store = Open(directory);
            if (store.Manifest.ConfigHash != hash)
            {
                var changed = ConfigLoader.Differences(Comparable(store.Config), Comparable(ConfigLoader.Resolve(config)));
                if (changed.Count > 0 && !force)
                    throw new ConfigException($"{store.ManifestPath}: the run was made with another config ({string.Join(", ", changed.Take(5))}{(changed.Count > 5 ? ", …" : "")} changed); use --force to redo it under the new one from where the change takes effect, or another --run-dir");
                if (changed.Count > 0)
                {
                    store.ForgetPassAt1();
                    store.ForcedChanges = changed;
                    store.ForcedRedo = ConfigChanges.FirstStage(changed, ConfigLoader.Resolve(config));
                }
            }
        }
        else
        {
            store = new RunStore(Path.GetFullPath(directory), new RunManifest { Run = config.Name });
        }
        store.Manifest.ConfigHash = hash;
        store.Manifest.Config = JsonNode.Parse(ConfigLoader.ToJson(config))!.AsObject();
        store.Manifest.ConfigDirectory = Path.GetRelativePath(store.Directory, Path.GetFullPath(config.BaseDirectory ?? "."));
        store.Manifest.RoundsPlanned = roundsPlanned;
        return store;

        static FlywheelConfig Comparable(FlywheelConfig c) => WithoutBudgets(c) with { Rounds = 0, BaseDirectory = null };
    }

    /// <summary>Opens an existing run to change it (resume): holds the folder's lock until disposed.</summary>
    public static RunStore OpenForUpdate(string directory) => Locked(directory, () => Open(directory));

    /// <summary>
    /// Takes the folder's lock, then removes what a killed process left half-written (only the lock's holder may: a
    /// running process's temporaries look the same), and opens the store, which holds the lock until disposed.
    /// </summary>
    private static RunStore Locked(string directory, Func<RunStore> open)
    {
        var runLock = RunLock.Acquire(directory);
        try
        {
            AtomicFile.CleanUp(directory);
            var store = open();
            store._lock = runLock;
            return store;
        }
        catch
        {
            runLock.Dispose();
            throw;
        }
    }

    /// <summary>Opens an existing run to read it (status, export): no lock, nothing on disk touched.</summary>
    public static RunStore Open(string directory)
    {
        string path = ManifestPathOf(directory);
        if (!File.Exists(path)) throw new InputException($"{path}: no run here (run.json not found)");
        RunManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<RunManifest>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{path}: {e.Path}: not a valid run manifest ({e.Message.Split(" Path: ")[0]})");
        }
        return new RunStore(Path.GetFullPath(directory), manifest ?? throw new ConfigException($"{path}: empty run manifest"));
    }

    /// <summary>Lets go of the folder's lock, if this store holds it.</summary>
    public void Dispose()
    {
        _lock?.Dispose();
        _lock = null;
    }

    /// <summary>The run's config as stored when the run began (or was last forced), its paths made absolute.</summary>
    public FlywheelConfig Config => ConfigLoader.Resolve(Manifest.Config.Deserialize<FlywheelConfig>(ConfigLoader.Json)! with
    {
        BaseDirectory = Path.GetFullPath(Manifest.ConfigDirectory ?? ".", Directory),
    });

    /// <summary>
    /// A path to record in run.json: relative to the run's folder (absolute only on another drive), so a clone moved as
    /// a whole, with its runs and the models they started from, still finds them.
    /// </summary>
    public string ToRecorded(string path) => Path.GetRelativePath(Directory, Path.GetFullPath(path));

    /// <summary>A path recorded in run.json, made absolute.</summary>
    public string FromRecorded(string path) => Path.GetFullPath(path, Directory);

    // The number of rounds is left out: running a run again with more rounds continues it.
    private static string HashOf(FlywheelConfig config) => ConfigLoader.Hash(WithoutBudgets(config) with { Rounds = 0 });

    // A memory budget changes no row: a run stopped for it continues with a larger one as the same run.
    private static FlywheelConfig WithoutBudgets(FlywheelConfig c) => c with { Sampling = c.Sampling with { KvMemoryGib = null } };

    public string RoundDirectory(int round) => Path.Combine(Directory, string.Create(CultureInfo.InvariantCulture, $"round-{round:000}"));

    public string StageState(int round, string stage)
    {
        lock (_gate) return Manifest.Round(round).Stages[stage];
    }

    /// <summary>Records a stage's state (and optionally updates the round's metrics), then saves run.json.</summary>
    public void SetStage(int round, string stage, string state, Func<RoundMetrics, RoundMetrics>? metrics = null, Action<RoundRecord>? update = null)
    {
        lock (_gate)
        {
            var r = Manifest.Round(round);
            r.Stages[stage] = state;
            if (metrics is not null) r.Metrics = metrics(r.Metrics);
            update?.Invoke(r);
            r.State = r.IsDone ? Runs.StageState.Done
                : r.Stages.Values.Any(s => s == Runs.StageState.Failed) ? Runs.StageState.Failed
                : r.Stages.Values.Any(s => s is not Runs.StageState.Pending) ? Runs.StageState.Running
                : Runs.StageState.Pending;
            Save();
        }
    }

    public void Update(Action<RunManifest> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        lock (_gate)
        {
            change(Manifest);
            Save();
        }
    }

    /// <summary>
    /// Forgets everything from <paramref name="stage"/> of <paramref name="round"/> on: later rounds' folders are
    /// deleted and those stages set back to pending, so the next run redoes them.
    /// </summary>
    public void ResetFrom(int round, string stage)
    {
        int from = Stage.IndexOf(stage);
        lock (_gate)
        {
            if (round < 1 || round > Math.Max(Manifest.Rounds.Count, 1))
                throw new InputException($"round {round} does not exist in this run (it has {Manifest.Rounds.Count} rounds)");
            for (int r = Manifest.Rounds.Count; r > round; r--)
            {
                string dir = RoundDirectory(r);
                if (System.IO.Directory.Exists(dir)) System.IO.Directory.Delete(dir, true);
            }
            Manifest.Rounds.RemoveRange(round, Manifest.Rounds.Count - round);
            var rec = Manifest.Round(round);
            foreach (var s in Stage.All.Skip(from)) rec.Stages[s] = Runs.StageState.Pending;
            rec.State = Runs.StageState.Running;
            ForgetPassAt1();
            Save();
        }
    }

    private void ForgetPassAt1()
    {
        Manifest.InitialPolicyPassAt1 = null;
        Manifest.FinalPolicyPassAt1 = null;
        Manifest.FinalPolicy = null;
        Manifest.PassAt1Prompts = null;
    }

    private void Save()
    {
        if (_lock is null) throw new InvalidOperationException($"{ManifestPath}: this store was opened to read the run, not to change it");
        AtomicFile.WriteAllText(ManifestPath, JsonSerializer.Serialize(Manifest, Json));
    }
}
