using System.CommandLine;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Runs;

namespace Flywheel.Cli.Commands;

/// <summary>Options shared by the commands that find a run: --run-dir, or runs/&lt;config name&gt; beside flywheel.json.</summary>
internal static class RunLocation
{
    public const string DefaultConfig = "flywheel.json";

    public static Option<string?> RunDirOption() => new("--run-dir") { Description = "the run's folder (default: runs/<config name>)" };

    public static string Resolve(string? runDir, string? configPath = null)
    {
        if (runDir is not null) return Path.GetFullPath(runDir);
        string config = configPath ?? DefaultConfig;
        if (!File.Exists(config))
            throw new UsageException($"no --run-dir given and no {config} here to name the run; pass --run-dir DIR");
        return Path.GetFullPath(Path.Combine("runs", ConfigLoader.Load(config).Name));
    }

    /// <summary>The run, to read (status, export).</summary>
    public static RunStore OpenExisting(string? runDir) => RunStore.Open(Resolve(runDir));

    /// <summary>The run, to change (resume): holds the folder's lock until disposed.</summary>
    public static RunStore OpenForUpdate(string? runDir) => RunStore.OpenForUpdate(Resolve(runDir));
}
