using System.Text.Json;
using System.Text.Json.Serialization;
using Flywheel.Files;
using Flywheel.Pipeline.Config;
using Flywheel.Training;
using Flywheel.Training.RewardModel;

namespace Flywheel.Pipeline.Reports;

/// <summary>One optimizer step of the reward model: its loss and the share of its batch's pairs ranked right.</summary>
internal sealed record RewardModelStep(int Step, int Epoch, double Loss, double? Accuracy, double LearningRate, double TokensPerSecond);

/// <summary>The held-out evaluation after an epoch, at the step that ended it.</summary>
internal sealed record RewardModelEvaluation(int Epoch, int Step, double Accuracy, double MeanMargin);

/// <summary>The rewards the trained model gives one held-out pair.</summary>
internal sealed record HeldOutPairRewards(double ChosenReward, double RejectedReward);

/// <summary>
/// What a round's reward-model training leaves for the report, in the round's rm folder: <c>training-log.jsonl</c>
/// (a line per step, written as the step ends, so a killed run keeps its steps and a resumed one appends the steps it
/// redoes — the last line of a step counts; then a line per held-out evaluation) and <c>heldout-rewards.jsonl</c>
/// (each held-out pair's rewards by the final model).
/// </summary>
internal static class RewardModelLog
{
    private static readonly JsonSerializerOptions Json = new(ConfigLoader.Json) { WriteIndented = false };

    public static string LogPath(string rmDirectory) => Path.Combine(rmDirectory, "training-log.jsonl");

    public static string HeldOutPath(string rmDirectory) => Path.Combine(rmDirectory, "heldout-rewards.jsonl");

    private sealed record Line(
        [property: JsonPropertyName("step")] RewardModelStep? Step,
        [property: JsonPropertyName("evaluation")] RewardModelEvaluation? Evaluation);

    /// <summary>Writes each step's line as training reports it, synchronously (progress must not lag behind a kill).</summary>
    internal sealed class Writer : IProgress<TrainingProgress>, IDisposable
    {
        private readonly StreamWriter _writer;
        private readonly IProgress<TrainingProgress> _next;
        private readonly Dictionary<int, int> _lastStepOfEpoch = [];

        /// <param name="fresh">Training starts from scratch: an earlier log is replaced; else (resuming) it is continued.</param>
        public Writer(string rmDirectory, bool fresh, IProgress<TrainingProgress> next)
        {
            Directory.CreateDirectory(rmDirectory);
            string path = LogPath(rmDirectory);
            foreach (var step in fresh ? Array.Empty<RewardModelStep>() : ReadSteps(path)) _lastStepOfEpoch[step.Epoch] = Math.Max(_lastStepOfEpoch.GetValueOrDefault(step.Epoch), step.Step);
            _writer = new StreamWriter(new FileStream(path, fresh ? FileMode.Create : FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
            _next = next;
        }

        public void Report(TrainingProgress value)
        {
            _lastStepOfEpoch[value.Epoch] = Math.Max(_lastStepOfEpoch.GetValueOrDefault(value.Epoch), value.Step);
            _writer.WriteLine(JsonSerializer.Serialize(new Line(new RewardModelStep(value.Step, value.Epoch, value.Loss, value.Accuracy, value.LearningRate, value.TokensPerSecond), null), Json));
            _next.Report(value);
        }

        /// <summary>Appends the held-out evaluations, each at the last step of its epoch; returns them as written.</summary>
        public IReadOnlyList<RewardModelEvaluation> WriteEvaluations(IEnumerable<RewardEvaluation> evaluations)
        {
            var written = evaluations.Select(e => new RewardModelEvaluation(e.Epoch, _lastStepOfEpoch.GetValueOrDefault(e.Epoch), e.Accuracy, e.MeanMargin)).ToList();
            foreach (var e in written) _writer.WriteLine(JsonSerializer.Serialize(new Line(null, e), Json));
            return written;
        }

        public void Dispose() => _writer.Dispose();
    }

    /// <summary>The steps in order, each as last logged; none where there is no log.</summary>
    public static IReadOnlyList<RewardModelStep> ReadSteps(string path) =>
        [.. Lines(path).Select(l => l.Step).OfType<RewardModelStep>().GroupBy(s => s.Step).Select(g => g.Last()).OrderBy(s => s.Step)];

    public static IReadOnlyList<RewardModelEvaluation> ReadEvaluations(string path) =>
        [.. Lines(path).Select(l => l.Evaluation).OfType<RewardModelEvaluation>().GroupBy(e => e.Epoch).Select(g => g.Last()).OrderBy(e => e.Epoch)];

    internal static void WriteHeldOut(string rmDirectory, IReadOnlyList<HeldOutPairRewards> pairs) =>
        AtomicFile.WriteAllText(HeldOutPath(rmDirectory), string.Concat(pairs.Select(p => JsonSerializer.Serialize(p, Json) + "\n")));

    public static IReadOnlyList<HeldOutPairRewards> ReadHeldOut(string rmDirectory)
    {
        string path = HeldOutPath(rmDirectory);
        return File.Exists(path)
            ? [.. File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<HeldOutPairRewards>(l, Json)!)]
            : [];
    }

    // A line cut short by a kill is the last one; it is skipped rather than failing the report.
    private static IEnumerable<Line> Lines(string path)
    {
        if (!File.Exists(path)) yield break;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } text)
        {
            Line? line;
            try { line = JsonSerializer.Deserialize<Line>(text, Json); }
            catch (JsonException) { continue; }
            if (line is not null) yield return line;
        }
    }
}
