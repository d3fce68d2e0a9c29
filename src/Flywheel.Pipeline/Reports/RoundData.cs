using Flywheel.Parquet;
using Flywheel.Pipeline.Runs;

namespace Flywheel.Pipeline.Reports;

/// <summary>A kept candidate shown as an example: its prompt, completion, reward and, with a verifier, whether it was right.</summary>
internal sealed record CandidateExample(string PromptId, string Prompt, string Completion, double Reward, bool? Correct);

/// <summary>
/// What the report plots for one round, read from the round's files: every candidate's reward, length and whether it
/// was kept (candidates.parquet), the reward model's steps and evaluations and its held-out pairs' rewards (rm/).
/// Null where the file is not there yet (a round in progress) or was written before the report read it.
/// </summary>
internal sealed record RoundData(
    int Round,
    double[]? Rewards, bool[]? Kept, int[]? Lengths, CandidateExample? BestKept, CandidateExample? WorstKept,
    IReadOnlyList<RewardModelStep> Steps, IReadOnlyList<RewardModelEvaluation> Evaluations, IReadOnlyList<HeldOutPairRewards> HeldOut)
{
    private static readonly IReadOnlyCollection<string> Columns = ["prompt_id", "prompt", "completion", "tokens", "reward", "kept", "correct"];

    /// <summary>Each round of the run in <paramref name="runDirectory"/>, in order: one read of its files for all that show them.</summary>
    public static async Task<IReadOnlyList<RoundData>> LoadAllAsync(RunManifest manifest, string runDirectory, CancellationToken ct)
    {
        var rounds = new List<RoundData>(manifest.Rounds.Count);
        foreach (var record in manifest.Rounds)
            rounds.Add(await LoadAsync(record.Round, Path.Combine(runDirectory, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"round-{record.Round:000}")), ct));
        return rounds;
    }

    private static async Task<RoundData> LoadAsync(int round, string directory, CancellationToken ct)
    {
        string rm = Path.Combine(directory, "rm");
        var steps = RewardModelLog.ReadSteps(RewardModelLog.LogPath(rm));
        var evaluations = RewardModelLog.ReadEvaluations(RewardModelLog.LogPath(rm));
        var heldOut = RewardModelLog.ReadHeldOut(rm);
        string candidates = Path.Combine(directory, "candidates.parquet");
        if (!File.Exists(candidates)) return new(round, null, null, null, null, null, steps, evaluations, heldOut);

        var rewards = new List<double>();
        var kept = new List<bool>();
        var lengths = new List<int>();
        CandidateExample? best = null, worst = null;
        await using var reader = await ParquetReader.OpenAsync(candidates, ct);
        await foreach (var row in reader.ReadRowsAsync(new ParquetReadOptions { Columns = Columns }, ct))
        {
            double reward = Convert.ToDouble(row["reward"], System.Globalization.CultureInfo.InvariantCulture);
            bool isKept = row["kept"] is true;
            rewards.Add(reward);
            kept.Add(isKept);
            lengths.Add(Convert.ToInt32(row["tokens"], System.Globalization.CultureInfo.InvariantCulture));
            if (!isKept) continue;
            if (best is null || reward > best.Reward) best = Example(row, reward);
            if (worst is null || reward < worst.Reward) worst = Example(row, reward);
        }
        return new(round, [.. rewards], [.. kept], [.. lengths], best, worst, steps, evaluations, heldOut);
    }

    private static CandidateExample Example(ParquetRow row, double reward) =>
        new((string)row["prompt_id"]!, (string)row["prompt"]!, (string)row["completion"]!, reward, row["correct"] as bool?);
}
