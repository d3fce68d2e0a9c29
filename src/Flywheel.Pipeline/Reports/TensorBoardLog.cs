using Flywheel.Pipeline.Runs;
using Flywheel.Training;
using TorchSharp;
using TorchSharp.Modules;

namespace Flywheel.Pipeline.Reports;

/// <summary>
/// TensorBoard event files under runs/&lt;name&gt;/tb, written with TorchSharp's SummaryWriter
/// (<c>tensorboard --logdir runs/&lt;name&gt;/tb</c>): <c>round-NNN/reward_model</c> and <c>round-NNN/sft</c> per optimizer
/// step as training runs (loss, batch accuracy, learning rate, gradient norm, tokens/s; the reward model's held-out
/// accuracy after each epoch), and <c>rounds</c> per round (pairs, accuracies, pass rates, the mean, spread and
/// quantiles of all and of kept candidates' rewards, seconds and throughput of each stage).
/// </summary>
internal static class TensorBoardLog
{
    private static readonly (string Label, double Q)[] Quantiles = [("min", 0), ("p10", 0.1), ("p25", 0.25), ("median", 0.5), ("p75", 0.75), ("p90", 0.9), ("max", 1)];

    public static string DirectoryOf(string runDirectory) => Path.Combine(runDirectory, "tb");

    /// <summary>One training's steps, written as each ends.</summary>
    internal sealed class Steps : IProgress<TrainingProgress>
    {
        private readonly SummaryWriter _writer;
        private readonly string _prefix;
        private readonly IProgress<TrainingProgress> _next;

        /// <param name="fresh">Training starts from scratch: the events of an earlier training of the round are removed (a resumed one appends).</param>
        public Steps(string runDirectory, int round, string prefix, bool fresh, IProgress<TrainingProgress> next)
        {
            string dir = Path.Combine(DirectoryOf(runDirectory), $"round-{round:000}", prefix);
            if (fresh && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            _writer = torch.utils.tensorboard.SummaryWriter(dir);
            _prefix = prefix;
            _next = next;
        }

        public void Report(TrainingProgress value)
        {
            _writer.add_scalar($"{_prefix}/loss", (float)value.Loss, value.Step);
            if (value.Accuracy is double accuracy) _writer.add_scalar($"{_prefix}/batch_accuracy", (float)accuracy, value.Step);
            _writer.add_scalar($"{_prefix}/learning_rate", (float)value.LearningRate, value.Step);
            _writer.add_scalar($"{_prefix}/gradient_norm", (float)value.GradientNorm, value.Step);
            _writer.add_scalar($"{_prefix}/tokens_per_second", (float)value.TokensPerSecond, value.Step);
            _next.Report(value);
        }

        public void HeldOut(RewardModelEvaluation evaluation)
        {
            _writer.add_scalar($"{_prefix}/heldout_accuracy", (float)evaluation.Accuracy, evaluation.Step);
            _writer.add_scalar($"{_prefix}/heldout_mean_margin", (float)evaluation.MeanMargin, evaluation.Step);
        }
    }

    /// <summary>Rewrites <c>tb/rounds</c> from run.json and its rounds' files as read, in order (so a redone round replaces its figures).</summary>
    public static void WriteRounds(RunManifest manifest, string runDirectory, IReadOnlyList<RoundData> rounds)
    {
        string dir = Path.Combine(DirectoryOf(runDirectory), "rounds");
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        var writer = torch.utils.tensorboard.SummaryWriter(dir);
        foreach (var (record, data) in manifest.Rounds.Zip(rounds))
        {
            int r = record.Round;
            var m = record.Metrics;
            void Scalar(string tag, double? value)
            {
                if (value is double v && double.IsFinite(v)) writer.add_scalar(tag, (float)v, r);
            }
            Scalar("round/pairs", m.Pairs);
            Scalar("round/rm_heldout_accuracy", m.RmEvalAccuracy);
            Scalar("round/candidates", m.Candidates);
            Scalar("round/kept", m.Kept);
            Scalar("round/pass_rate_all", m.PassRateAll);
            Scalar("round/pass_rate_kept", m.PassRateKept);
            Scalar("round/policy_pass_at_1", m.PolicyPassAt1);
            Scalar("round/reward_mean_all", m.RewardMeanAll);
            Scalar("round/reward_mean_kept", m.RewardMeanKept);
            Scalar("throughput/generated_tokens_per_second", m.TokensPerSecond);
            foreach (var (stage, seconds) in record.StageSeconds) Scalar($"seconds/{stage}", seconds);

            if (data.Rewards is not { Length: > 0 } rewards) continue;
            if (record.StageSeconds.TryGetValue(Stage.Sample, out double sampling) && sampling > 0) Scalar("throughput/candidates_per_second", rewards.Length / sampling);
            foreach (var (name, values) in new[] { ("all", rewards), ("kept", rewards.Where((_, i) => data.Kept![i]).ToArray()) })
            {
                if (values.Length == 0) continue;
                double mean = values.Average();
                Scalar($"reward_{name}/mean", mean);
                Scalar($"reward_{name}/std", Math.Sqrt(values.Average(v => (v - mean) * (v - mean))));
                // Quantiles rather than add_histogram, which needs LibTorch loaded for its tensor, and a report
                // written by a process that trained nothing (a resume of a finished run) would load it only for that.
                var sorted = values.Order().ToArray();
                foreach (var (label, q) in Quantiles) Scalar($"reward_{name}/{label}", sorted[(int)Math.Round(q * (sorted.Length - 1))]);
            }
        }
    }
}
