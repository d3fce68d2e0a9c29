using System.Security.Cryptography;
using System.Text;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Reports;
using Flywheel.Pipeline.Runs;
using Flywheel.Training.RewardModel;
using Flywheel.Training;

namespace Flywheel.Pipeline.Stages;

/// <summary>
/// Trains the round's reward model on its pairs, initialised from the round's policy (or the configured backbone),
/// holding out a fixed fraction of pairs for evaluation, and exports it to rm/model.gguf with its head.
/// A run killed mid-training continues from the trainer's last checkpoint.
/// </summary>
internal static class TrainRewardModelStage
{
    public static async Task<(double Accuracy, long Truncated)> RunAsync(RoundContext ctx, CancellationToken ct)
    {
        var all = await GatherStage.ReadPairsAsync(ctx.PairsPath, ct);
        var rm = ctx.Config.RewardModel;
        // The split depends on each pair's content only, so it is the same however the pairs were gathered.
        var eval = all.Where(p => Fraction(p) < rm.EvalFraction).Select(ToTraining).ToList();
        var train = all.Where(p => Fraction(p) >= rm.EvalFraction).Select(ToTraining).ToList();
        if (train.Count == 0 || eval.Count == 0)
            throw new InvalidOperationException($"round {ctx.Round}: {all.Count} pairs leave {train.Count} to train and {eval.Count} to evaluate; gather more pairs or change $.reward_model.eval_fraction");
        string backbone = rm.Init == "policy" ? ctx.PolicyPath : rm.Init;
        var options = new RewardModelOptions
        {
            Device = ctx.Device,
            Threads = ctx.Threads,
            Epochs = rm.Epochs,
            LearningRate = rm.LearningRate,
            WeightDecay = rm.WeightDecay,
            MaxLength = rm.MaxLength,
            TokensPerBatch = rm.BatchPairs * rm.MaxLength * 2,
            Layers = rm.Train switch
            {
                "all" => TrainableLayers.All,
                "head" => TrainableLayers.HeadOnly,
                "lora" => TrainableLayers.WithLora(rm.Lora),
                var s => TrainableLayers.Last(int.Parse(s[5..], System.Globalization.CultureInfo.InvariantCulture)),
            },
            RewardToken = rm.RewardToken,
            Loss = rm.Loss == "focal" ? RewardLoss.Focal : RewardLoss.BradleyTerry,
            CenterRewardsCoefficient = rm.CenterRewardsCoefficient,
            Seed = Seeds.Derive(ctx.Config.Seed, ctx.Round, "reward-model", ""),
            CheckpointEverySteps = rm.CheckpointEverySteps,
            CheckpointDirectory = Path.Combine(ctx.Directory, "rm", "checkpoints"),
            Template = ctx.Config.Policy.NamedTemplate(),
        };
        var progress = new Progress<TrainingProgress>(p =>
            ctx.Report(Stage.TrainRm, p.Step, p.TotalSteps, $"loss {p.Loss:F4}" + (p.Accuracy is double a ? $", accuracy {a:P1}" : ""), p.TokensPerSecond));
        // The report's loss and accuracy curves and held-out reward histograms; a resumed training continues the log.
        string rmDirectory = Path.GetDirectoryName(ctx.RewardModelPath)!;
        bool fresh = !Directory.Exists(options.CheckpointDirectory);
        var tensorBoard = new TensorBoardLog.Steps(ctx.Store.Directory, ctx.Round, "reward_model", fresh, progress);
        using var log = new RewardModelLog.Writer(rmDirectory, fresh, tensorBoard);
        var result = ctx.Resilience.Training.Execute(token =>
        {
            using var trainer = new RewardModelTrainer(backbone, options);
            var r = trainer.Train(train, eval, log, token);
            trainer.Export(ctx.RewardModelPath, $"{ctx.Config.Name} reward model, round {ctx.Round}");
            RewardModelLog.WriteHeldOut(rmDirectory, [.. trainer.EvaluationRewards.Select(r => new HeldOutPairRewards(r.Chosen, r.Rejected))]);
            return r;
        }, ct);
        foreach (var evaluation in log.WriteEvaluations(result.Evaluations)) tensorBoard.HeldOut(evaluation);
        if (Directory.Exists(options.CheckpointDirectory)) Directory.Delete(options.CheckpointDirectory, recursive: true);
        if (result.TruncatedPairs > 0) ctx.Log($"round {ctx.Round}: {result.TruncatedPairs} pairs were longer than {rm.MaxLength} tokens and were truncated");
        return (result.Evaluations[^1].Accuracy, result.TruncatedPairs);
    }

    private static RewardPair ToTraining(Datasets.PreferencePair p) => new(p.Prompt, p.Chosen, p.Rejected, p.Margin);

    private static double Fraction(Datasets.PreferencePair p)
    {
        var text = string.Join('\u0001', p.Prompt.Select(m => m.Role + ":" + m.Content).Append(p.Chosen).Append(p.Rejected));
        return BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes(text))) / (double)ulong.MaxValue;
    }
}
