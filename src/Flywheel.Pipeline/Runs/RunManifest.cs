using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Flywheel.Pipeline.Runs;

/// <summary>The stages of a round, in order (the names of the status --json contract).</summary>
public static class Stage
{
    public const string Gather = "gather";
    public const string TrainRm = "train_rm";
    public const string Sample = "sample";
    public const string Score = "score";
    public const string Select = "select";
    public const string Write = "write";
    public const string Sft = "sft";

    public static IReadOnlyList<string> All { get; } = [Gather, TrainRm, Sample, Score, Select, Write, Sft];

    public static int IndexOf(string stage)
    {
        int i = All.ToList().IndexOf(stage);
        return i >= 0 ? i : throw new ArgumentException($"unknown stage '{stage}'; stages: {string.Join(", ", All)}", nameof(stage));
    }
}

/// <summary>A stage's or round's state: pending, running, done, failed, skipped.</summary>
public static class StageState
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Done = "done";
    public const string Failed = "failed";
    public const string Skipped = "skipped";
}

/// <summary>run.json: the run's config, its rounds and their stages' states and metrics.</summary>
public sealed class RunManifest
{
    public string Run { get; set; } = "";
    public string ConfigHash { get; set; } = "";

    /// <summary>The config as written: relative paths are relative to <see cref="ConfigDirectory"/>.</summary>
    public JsonObject Config { get; set; } = new();

    /// <summary>The config file's folder, relative to the run's folder (so a clone moved as a whole still resolves).</summary>
    public string? ConfigDirectory { get; set; }

    public int RoundsPlanned { get; set; }

    /// <summary>The starting policy's pass@1, on the same prompts and seeds as the final one.</summary>
    [JsonPropertyName("initial_policy_pass_at_1")]
    public double? InitialPolicyPassAt1 { get; set; }

    /// <summary>The last round's SFT policy's pass@1: on the config's evaluation prompts, else on its prompts.</summary>
    [JsonPropertyName("final_policy_pass_at_1")]
    public double? FinalPolicyPassAt1 { get; set; }

    /// <summary>
    /// The policy <see cref="FinalPolicyPassAt1"/> was measured on (relative to the run's folder): a run extended
    /// with more rounds has another last policy, and its figure is measured again.
    /// </summary>
    public string? FinalPolicy { get; set; }

    /// <summary>The prompts file both pass@1 figures were measured on.</summary>
    public string? PassAt1Prompts { get; set; }

    /// <summary>
    /// "policy pass@1 on FILE: starting policy X → final policy Y" for a status line or a report, with the file name
    /// escaped and Y emphasised in the caller's markup; null until the final policy has been measured.
    /// </summary>
    public string? PassAt1Summary(Func<string, string> escape, Func<string, string> emphasise)
    {
        ArgumentNullException.ThrowIfNull(escape);
        ArgumentNullException.ThrowIfNull(emphasise);
        if (FinalPolicyPassAt1 is not double final) return null;
        static string Percent(double v) => v.ToString("P1", CultureInfo.InvariantCulture);
        string on = PassAt1Prompts is { } p ? $" on {escape(Path.GetFileName(p))}" : "";
        string initial = InitialPolicyPassAt1 is double i ? $"starting policy {Percent(i)} → " : "";
        return $"policy pass@1{on}: {initial}final policy {emphasise(Percent(final))}";
    }

    public List<RoundRecord> Rounds { get; set; } = [];

    public RoundRecord Round(int round)
    {
        while (Rounds.Count < round) Rounds.Add(new RoundRecord { Round = Rounds.Count + 1 });
        return Rounds[round - 1];
    }
}

public sealed class RoundRecord
{
    public int Round { get; set; }
    public string State { get; set; } = StageState.Pending;
    public Dictionary<string, string> Stages { get; set; } = Stage.All.ToDictionary(s => s, _ => StageState.Pending);
    public RoundMetrics Metrics { get; set; } = new();

    /// <summary>The policy that sampled this round (a GGUF path relative to the run's folder).</summary>
    public string? Policy { get; set; }

    /// <summary>The reward model trained this round (a GGUF path relative to the run's folder).</summary>
    public string? RewardModel { get; set; }

    /// <summary>Seconds each stage took when it last ran to the end (sample includes score: they are one streaming pass).</summary>
    public Dictionary<string, double> StageSeconds { get; set; } = [];

    [JsonIgnore] public bool IsDone => Stages.Values.All(s => s is StageState.Done or StageState.Skipped);
}

/// <summary>A round's figures; null where not measured (no verifier, stage not run yet).</summary>
public sealed record RoundMetrics
{
    public long? Pairs { get; init; }
    public long? PairsTruncated { get; init; }
    /// <summary>Rows set aside under --skip-bad: <see cref="PairsRejected"/> plus <see cref="PromptsRejected"/>.</summary>
    public long? RowsRejected { get; init; }

    /// <summary>Preference rows gather set aside; each stage keeps its own count, so that a redone stage replaces it.</summary>
    public long? PairsRejected { get; init; }

    /// <summary>Prompt rows sampling set aside.</summary>
    public long? PromptsRejected { get; init; }
    public double? RmEvalAccuracy { get; init; }
    public long? Candidates { get; init; }
    public long? Kept { get; init; }
    public double? RewardMeanAll { get; init; }
    public double? RewardMeanKept { get; init; }

    /// <summary>The top-quartile reward threshold selection used (null when that filter is off).</summary>
    public double? RewardThreshold { get; init; }
    public double? PassRateAll { get; init; }
    public double? PassRateKept { get; init; }
    [JsonPropertyName("policy_pass_at_1")]
    public double? PolicyPassAt1 { get; init; }
    public double? TokensPerSecond { get; init; }
}
