using System.CommandLine;
using Flywheel.Pipeline;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Runs;

namespace Flywheel.Cli.Commands;

/// <summary>`flywheel run` and `flywheel resume`.</summary>
internal static class RunCommand
{
    public static Command CreateRun(CliConsole console)
    {
        var config = new Option<string>("--config") { Description = "the config file", DefaultValueFactory = _ => RunLocation.DefaultConfig };
        var rounds = new Option<int?>("--rounds") { Description = "rounds to run (default: the config's)" };
        var runDir = RunLocation.RunDirOption();
        var device = new Option<string?>("--device") { Description = "auto, cpu or cuda (default: the config's)" };
        device.AcceptOnlyFromAmong("auto", "cpu", "cuda");
        var force = new Option<bool>("--force") { Description = "continue a run whose config changed" };
        var skipBad = SkipBadOption();
        var output = OutputOptions.Create();
        var command = new Command("run", "Run the flywheel for N rounds; running it again continues where it stopped")
        {
            config, rounds, runDir, device, force, skipBad, output.Quiet, output.Json,
        };
        command.SetAction(async (parse, ct) =>
        {
            var cfg = ConfigLoader.Load(parse.GetRequiredValue(config));
            int planned = parse.GetValue(rounds) ?? cfg.Rounds;
            if (planned < 1) throw new UsageException($"--rounds must be ≥ 1, got {planned}");
            string dir = parse.GetValue(runDir) is { } d ? Path.GetFullPath(d) : Path.GetFullPath(Path.Combine("runs", cfg.Name));
            using var store = RunStore.OpenOrCreate(dir, cfg, planned, parse.GetValue(force));
            return await ExecuteAsync(console, store, new RunOptions { Device = parse.GetValue(device), SkipBad = parse.GetValue(skipBad) }, output.Read(parse), ct);
        });
        return command;
    }

    private static Option<bool> SkipBadOption() => new("--skip-bad") { Description = "write bad dataset rows to rejects files (counted in status) instead of stopping" };

    public static Command CreateResume(CliConsole console)
    {
        var runDir = RunLocation.RunDirOption();
        var fromRound = new Option<int?>("--from-round") { Description = "redo from this round, discarding what came after" };
        var fromStage = new Option<string?>("--from-stage") { Description = $"with --from-round, redo from this stage ({string.Join(", ", Stage.All)})" };
        fromStage.AcceptOnlyFromAmong([.. Stage.All]);
        var skipBad = SkipBadOption();
        var output = OutputOptions.Create();
        var command = new Command("resume", "Continue a run; with --from-round, redo from that round (and stage)")
        {
            runDir, fromRound, fromStage, skipBad, output.Quiet, output.Json,
        };
        command.SetAction(async (parse, ct) =>
        {
            using var store = RunLocation.OpenForUpdate(parse.GetValue(runDir));
            string? stage = parse.GetValue(fromStage);
            if (parse.GetValue(fromRound) is int round)
            {
                if (round < 1 || round > store.Manifest.Rounds.Count)
                    throw new UsageException($"--from-round {round}: the run has rounds 1 to {store.Manifest.Rounds.Count}");
                FlywheelRunner.RedoFrom(store, round, stage ?? Stage.Gather);
            }
            else if (stage is not null)
            {
                throw new UsageException("--from-stage needs --from-round");
            }
            return await ExecuteAsync(console, store, new RunOptions { SkipBad = parse.GetValue(skipBad) }, output.Read(parse), ct);
        });
        return command;
    }

    private static async Task<int> ExecuteAsync(CliConsole console, RunStore store, RunOptions options, OutputMode mode, CancellationToken ct)
    {
        using var view = ProgressView.Create(console, mode);
        try
        {
            await FlywheelRunner.RunAsync(store, options with { Progress = view, Log = view.Log }, ct);
        }
        finally
        {
            view.Finish();
        }
        if (mode != OutputMode.Json) StatusCommand.Render(console, store.Manifest);
        else console.WriteJson(StatusCommand.ToStatus(store.Manifest));
        return ExitCodes.Success;
    }
}
