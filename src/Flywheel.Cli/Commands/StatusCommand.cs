using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization;
using Flywheel.Pipeline.Runs;
using Spectre.Console;

namespace Flywheel.Cli.Commands;

/// <summary>`flywheel status`: each round's stages and metrics.</summary>
internal static class StatusCommand
{
    public static Command Create(CliConsole console)
    {
        var runDir = RunLocation.RunDirOption();
        var json = new Option<bool>("--json") { Description = "one JSON object, for machines" };
        var command = new Command("status", "Per round: each stage's state and metrics") { runDir, json };
        command.SetAction(parse =>
        {
            using var store = RunLocation.OpenExisting(parse.GetValue(runDir));
            if (parse.GetValue(json)) console.WriteJson(ToStatus(store.Manifest));
            else Render(console, store.Manifest);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The status --json object of DESIGN.md (its fields keep their names and meanings).</summary>
    public static RunStatus ToStatus(RunManifest m) =>
        new(m.Run, m.RoundsPlanned, m.FinalPolicyPassAt1, m.InitialPolicyPassAt1, m.PassAt1Prompts, m.Rounds.Select(r => new RoundStatus(r.Round, r.State, r.Stages, r.Metrics)).ToList());

    internal sealed record RunStatus(
        string Run, int RoundsPlanned, [property: JsonPropertyName("final_policy_pass_at_1")] double? FinalPolicyPassAt1,
        [property: JsonPropertyName("initial_policy_pass_at_1")] double? InitialPolicyPassAt1, [property: JsonPropertyName("pass_at_1_prompts")] string? PassAt1Prompts,
        IReadOnlyList<RoundStatus> Rounds);

    internal sealed record RoundStatus(int Round, string State, IReadOnlyDictionary<string, string> Stages, RoundMetrics Metrics);

    public static void Render(CliConsole console, RunManifest m)
    {
        var table = new Table().Title($"run {Markup.Escape(m.Run)}: {m.Rounds.Count(r => r.IsDone)} of {m.RoundsPlanned} rounds done");
        table.AddColumns("round", "state", "pairs", "RM acc", "candidates", "kept", "reward all", "reward kept", "pass all", "pass kept", "pass@1");
        foreach (var r in m.Rounds)
        {
            var x = r.Metrics;
            table.AddRow(r.Round.ToString(CultureInfo.InvariantCulture), StateOf(r), N(x.Pairs), P(x.RmEvalAccuracy), N(x.Candidates), N(x.Kept),
                F(x.RewardMeanAll), F(x.RewardMeanKept), P(x.PassRateAll), P(x.PassRateKept), P(x.PolicyPassAt1));
        }
        console.Ansi.Write(table);
        if (m.PassAt1Summary(Markup.Escape, figure => $"[bold]{figure}[/]") is { } passAt1) console.Ansi.MarkupLine(passAt1);
    }

    private static string StateOf(RoundRecord r)
    {
        if (r.State != StageState.Running && r.State != StageState.Failed) return r.State;
        var current = Stage.All.FirstOrDefault(s => r.Stages[s] is StageState.Running or StageState.Failed)
            ?? Stage.All.First(s => r.Stages[s] == StageState.Pending);
        return $"{r.State} ({current})";
    }

    private static string N(long? v) => v?.ToString("N0", CultureInfo.InvariantCulture) ?? "–";
    private static string P(double? v) => v?.ToString("P1", CultureInfo.InvariantCulture) ?? "–";
    private static string F(double? v) => v?.ToString("F3", CultureInfo.InvariantCulture) ?? "–";
}
