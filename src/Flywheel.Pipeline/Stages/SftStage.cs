using Flywheel.Llama.Chat;
using Flywheel.Parquet;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Runs;
using Flywheel.Training.Sft;
using Flywheel.Training;

namespace Flywheel.Pipeline.Stages;

/// <summary>Trains the round's policy on its kept rows (assistant tokens only), giving the next round's policy.</summary>
internal static class SftStage
{
    public static async Task RunAsync(RoundContext ctx, CancellationToken ct)
    {
        var examples = new List<SftExample>();
        await foreach (var row in ParquetSerializer.DeserializeAsync<SftRow>(ctx.SftPath, RowFiles.Options(), ct))
        {
            var prompt = row.Messages.Take(row.Messages.Count - 1).Select(m => new ChatMessage(m.Role, m.Content)).ToList();
            // Initialised from the policy it trains, SFT learns the tokens the policy sampled, as it sampled them.
            examples.Add(new SftExample(prompt, row.Completion) { PromptTokens = row.PromptTokenIds, CompletionTokens = row.CompletionTokenIds });
        }
        if (examples.Count == 0)
            throw new InvalidOperationException($"round {ctx.Round}: no rows were kept to train the policy on (check $.selection)");
        var sft = ctx.Config.Sft;
        var options = new SftOptions
        {
            Device = ctx.Device,
            Threads = ctx.Threads,
            Epochs = sft.Epochs,
            LearningRate = sft.LearningRate,
            MaxLength = sft.MaxLength,
            TokensPerBatch = sft.BatchSequences * sft.MaxLength,
            Layers = sft.Train == "lora" ? TrainableLayers.WithLora(sft.Lora) : TrainableLayers.All,
            Seed = Seeds.Derive(ctx.Config.Seed, ctx.Round, "sft", ""),
            CheckpointEverySteps = sft.CheckpointEverySteps,
            CheckpointDirectory = Path.Combine(ctx.Directory, "sft-checkpoints"),
            Template = ctx.Config.Policy.NamedTemplate(),
        };
        var progress = new Reports.TensorBoardLog.Steps(ctx.Store.Directory, ctx.Round, "sft", fresh: !Directory.Exists(options.CheckpointDirectory),
            new Progress<TrainingProgress>(p => ctx.Report(Stage.Sft, p.Step, p.TotalSteps, $"loss {p.Loss:F4}", p.TokensPerSecond)));
        ctx.Resilience.Training.Execute(token =>
        {
            using var trainer = new SftTrainer(ctx.PolicyPath, options);
            trainer.Train(examples, null, progress, token);
            trainer.Export(ctx.NextPolicyPath, $"{ctx.Config.Name} policy after round {ctx.Round}");
        }, ct);
        if (Directory.Exists(options.CheckpointDirectory)) Directory.Delete(options.CheckpointDirectory, recursive: true);
    }
}
