using System.Diagnostics;
using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Training.RewardModel;
using Xunit.Abstractions;

namespace Flywheel.Training.Tests;

public class RewardModelTests(ITestOutputHelper output)
{
    private sealed class SyncProgress(Action<TrainingProgress> action) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => action(value);
    }

    private static RewardModelOptions Options => new()
    {
        Device = ComputeDevice.Cpu, Threads = 1, MaxLength = 64, TokensPerBatch = 16 * 2 * 40, LearningRate = 3e-3, WarmupSteps = 5,
        WeightDecay = 0.01, Epochs = 3, Seed = 5,
    };

    [Fact]
    public void A_tiny_reward_model_learns_a_synthetic_preference_to_at_least_95_percent_held_out_accuracy()
    {
        string path = TinyModels.Create("rm-base.gguf", TinyModels.Small, seed: 11);
        var train = SyntheticData.GoodBadPairs(160, seed: 1);
        var heldOut = SyntheticData.GoodBadPairs(100, seed: 2);
        using var trainer = new RewardModelTrainer(path, Options);
        var clock = Stopwatch.StartNew();
        var result = trainer.Train(train, heldOut, new SyncProgress(p => { if (p.Step % 5 == 0) output.WriteLine($"step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} acc {p.Accuracy:P0} {p.TokensPerSecond:F0} tok/s"); }));
        output.WriteLine($"{result.Losses.Count} steps in {clock.Elapsed.TotalSeconds:F1}s; evaluations: {string.Join("; ", result.Evaluations)}");
        var last = result.Evaluations[^1];
        Assert.Equal(3, result.Evaluations.Count);
        Assert.Equal(100, last.Pairs);
        Assert.True(last.Accuracy >= 0.95, $"held-out accuracy {last.Accuracy:P1}");
        Assert.True(last.MeanMargin > 0);
        Assert.Equal(new RewardStatistics(last.RewardMean, last.RewardStd), result.Statistics);
        Assert.True(result.Losses[^1] < result.Losses[0] / 3, $"loss went from {result.Losses[0]} to {result.Losses[^1]}");
    }

    [Fact]
    public void LoRA_on_under_5_percent_of_the_parameters_comes_within_3_points_of_full_training()
    {
        var hp = TinyModels.Small with { EmbeddingLength = 64, Heads = 4, KvHeads = 2, FeedForwardLength = 128 };
        string path = TinyModels.Create("rm-lora.gguf", hp, seed: 16);
        var train = SyntheticData.GoodBadPairs(160, seed: 1);
        var heldOut = SyntheticData.GoodBadPairs(100, seed: 2);
        double Accuracy(TrainableLayers layers, double learningRate, out long trained)
        {
            using var trainer = new RewardModelTrainer(path, Options with { Layers = layers, LearningRate = learningRate, Epochs = 4 });
            trained = trainer.TrainableParameters;
            return trainer.Train(train, heldOut).Evaluations[^1].Accuracy;
        }
        double full = Accuracy(TrainableLayers.All, 3e-3, out long all);
        double lora = Accuracy(TrainableLayers.WithLora(new LoraOptions { Rank = 2, Alpha = 8, Dropout = 0.05 }), 1e-2, out long adapters);
        output.WriteLine($"full ({all:N0} parameters): {full:P1}; LoRA ({adapters:N0} parameters, {(double)adapters / all:P1}): {lora:P1}");
        Assert.True((double)adapters / all <= 0.05, $"LoRA trains {adapters} of {all} parameters");
        Assert.True(full >= 0.95, $"full training: held-out accuracy {full:P1}");
        Assert.True(lora >= full - 0.03, $"LoRA {lora:P1} vs full {full:P1}");
    }

    [Fact]
    public void A_reward_token_is_appended_and_read_by_trainer_and_scorer_alike()
    {
        string path = TinyModels.Create("rm-token.gguf", TinyModels.Small, seed: 17);
        // A byte token (id 130, never in this ASCII data) as the reward token, given by id: its hidden state carries the reward.
        using var trainer = new RewardModelTrainer(path, Options with { Epochs = 2, RewardToken = "130" });
        var train = SyntheticData.GoodBadPairs(64, seed: 5);
        var result = trainer.Train(train);
        Assert.True(result.Losses[^1] < result.Losses[0]);
        string exported = TinyModels.TempPath("rm-token-export.gguf");
        string head = trainer.Export(exported);
        Assert.Contains("\"reward_token\": 130", File.ReadAllText(head).Replace("\"reward_token\":130", "\"reward_token\": 130"));
        var queries = SyntheticData.GoodBadPairs(6, seed: 8).Select(p => new RewardQuery(p.Prompt, p.Chosen)).ToList();
        float[] expected = trainer.Score(queries);
        using var scorer = RewardScorer.Load(exported, new RewardScorerOptions { Threads = 1 });
        float[] actual = scorer.Score(queries);
        double scale = expected.Max(Math.Abs);
        Assert.True(expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max() < 1e-5 * scale, $"{string.Join(",", expected)} vs {string.Join(",", actual)}");
    }

    [Fact]
    public void Resuming_LoRA_with_dropout_gives_the_same_losses_as_never_stopping()
    {
        string path = TinyModels.Create("rm-lora-resume.gguf", TinyModels.Small, seed: 18);
        var train = SyntheticData.GoodBadPairs(48, seed: 3);
        var options = Options with
        {
            Epochs = 2, TokensPerBatch = 4 * 2 * 40, CheckpointEverySteps = 1,
            Layers = TrainableLayers.WithLora(new LoraOptions { Rank = 2, Alpha = 4, Dropout = 0.2 }),
        };
        IReadOnlyList<double> uninterrupted;
        using (var trainer = new RewardModelTrainer(path, options)) uninterrupted = trainer.Train(train).Losses;
        string dir = TinyModels.TempPath("lora-checkpoints");
        using var cts = new CancellationTokenSource();
        using (var trainer = new RewardModelTrainer(path, options with { CheckpointDirectory = dir }))
            Assert.ThrowsAny<OperationCanceledException>(() => trainer.Train(train, null, new SyncProgress(p => { if (p.Step == 5) cts.Cancel(); }), cts.Token));
        using var resumed = new RewardModelTrainer(path, options with { CheckpointDirectory = dir });
        var result = resumed.Train(train);
        Assert.True(result.Resumed);
        Assert.Equal(uninterrupted, result.Losses);
    }

    [Fact]
    public void Resuming_from_a_checkpoint_gives_the_same_losses_as_never_stopping()
    {
        string path = TinyModels.Create("rm-resume.gguf", TinyModels.Small, seed: 12);
        var train = SyntheticData.GoodBadPairs(48, seed: 3);
        var heldOut = SyntheticData.GoodBadPairs(8, seed: 4);
        // Small batches, accumulation and clipping so that every part of the step is exercised; 2 epochs of 6 steps.
        var options = Options with { Epochs = 2, TokensPerBatch = 4 * 2 * 40, GradientAccumulation = 2, MaxGradientNorm = 0.5, CheckpointEverySteps = 1 };

        IReadOnlyList<double> uninterrupted;
        using (var trainer = new RewardModelTrainer(path, options))
            uninterrupted = trainer.Train(train, heldOut).Losses;

        string dir = TinyModels.TempPath("checkpoints");
        using var cts = new CancellationTokenSource();
        using (var trainer = new RewardModelTrainer(path, options with { CheckpointDirectory = dir }))
            Assert.ThrowsAny<OperationCanceledException>(() => trainer.Train(train, heldOut, new SyncProgress(p => { if (p.Step == 7) cts.Cancel(); }), cts.Token));
        Assert.True(File.Exists(Path.Combine(dir, "checkpoint.gguf")));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp-*"));

        using var resumed = new RewardModelTrainer(path, options with { CheckpointDirectory = dir });
        var steps = new List<int>();
        var result = resumed.Train(train, heldOut, new SyncProgress(p => steps.Add(p.Step)));
        Assert.True(result.Resumed);
        Assert.Equal(Enumerable.Range(8, uninterrupted.Count - 7), steps);
        Assert.Equal(uninterrupted, result.Losses);
        Assert.Equal(2, result.Evaluations.Count);

        // Other data with the same checkpoint directory is refused, not silently resumed.
        using var other = new RewardModelTrainer(path, options with { CheckpointDirectory = dir });
        Assert.Throws<LlamaException>(() => other.Train(train.Take(40).ToList(), heldOut));
    }

    [Fact]
    public void A_checkpoint_resumes_after_its_folder_moved_but_not_with_another_model()
    {
        string folder = TinyModels.TempPath("clone");
        Directory.CreateDirectory(folder);
        string model = Path.Combine(folder, "rm.gguf");
        File.Move(TinyModels.Create("rm-moved.gguf", TinyModels.Small, seed: 14), model);
        var train = SyntheticData.GoodBadPairs(48, seed: 6);
        var options = Options with { Epochs = 1, TokensPerBatch = 4 * 2 * 40, CheckpointEverySteps = 1 };
        using var cts = new CancellationTokenSource();
        using (var trainer = new RewardModelTrainer(model, options with { CheckpointDirectory = Path.Combine(folder, "checkpoints") }))
            Assert.ThrowsAny<OperationCanceledException>(() => trainer.Train(train, null, new SyncProgress(p => { if (p.Step == 2) cts.Cancel(); }), cts.Token));

        // The whole folder moves, model and checkpoint with it: training goes on from step 3.
        string moved = folder + "-moved";
        Directory.Move(folder, moved);
        var options2 = options with { CheckpointDirectory = Path.Combine(moved, "checkpoints") };
        using (var resumed = new RewardModelTrainer(Path.Combine(moved, "rm.gguf"), options2))
        {
            var steps = new List<int>();
            Assert.True(resumed.Train(train, null, new SyncProgress(p => steps.Add(p.Step))).Resumed);
            Assert.Equal(3, steps[0]);
        }

        // Another model of the same shape, at the same path, is refused.
        File.Delete(Path.Combine(moved, "rm.gguf"));
        File.Move(TinyModels.Create("rm-other.gguf", TinyModels.Small, seed: 15), Path.Combine(moved, "rm.gguf"));
        using var other = new RewardModelTrainer(Path.Combine(moved, "rm.gguf"), options2);
        Assert.Throws<LlamaException>(() => other.Train(train, null));
    }

    [Fact]
    public void The_exported_model_loads_in_llama_cpp_and_the_scorer_gives_the_trainers_rewards()
    {
        string path = TinyModels.Create("rm-export.gguf", TinyModels.Small, seed: 13);
        var train = SyntheticData.GoodBadPairs(64, seed: 5);
        using var trainer = new RewardModelTrainer(path, Options with { Epochs = 2 });
        var result = trainer.Train(train);
        Assert.Empty(result.Evaluations);
        string exported = TinyModels.TempPath("rm.gguf");
        string headPath = trainer.Export(exported, name: "test-rm");
        Assert.Equal(Path.ChangeExtension(exported, ".head.json"), headPath);

        var queries = SyntheticData.GoodBadPairs(12, seed: 6)
            .SelectMany(p => new[] { new RewardQuery(p.Prompt, p.Chosen), new RewardQuery(p.Prompt, p.Rejected) }).ToList();
        // A prompt longer than the max length: both sides must truncate it the same way.
        queries.Add(new RewardQuery([new("user", new string('x', 200))], "good"));
        float[] expected = trainer.Score(queries);
        using var scorer = RewardScorer.Load(exported, new RewardScorerOptions { Threads = 1 });
        float[] actual = scorer.Score(queries);
        double scale = expected.Max(Math.Abs);
        double worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max() / scale;
        output.WriteLine($"scorer vs trainer: max difference {worst:E2} of the largest reward {scale:F3}");
        // The same decoder on the exported (f32) weights: equal up to float rounding.
        Assert.True(worst < 1e-5, $"scorer and trainer differ by {worst:E2}");
        Assert.Equal(result.Statistics, scorer.Statistics);

        // The same replies as the sampler hands them over (prompt tokens, reply tokens): the same rewards.
        using var vocabulary = LlamaModel.Load(exported, new ModelOptions { VocabularyOnly = true });
        var template = ChatTemplate.FromModel(vocabulary);
        var sampled = queries.Take(24).Select(q => new SampledReply(
            vocabulary.Vocabulary.Tokenize(template.Apply(q.Prompt), addSpecial: true, parseSpecial: true),
            vocabulary.Vocabulary.Tokenize(q.Response))).ToList();
        float[] fromTokens = scorer.Score(sampled);
        for (int i = 0; i < sampled.Count; i++) Assert.Equal(actual[i], fromTokens[i], 1e-5f);
        float[] normalized = scorer.Score(queries, normalize: true);
        Assert.Equal((actual[0] - result.Statistics.Mean) / result.Statistics.Std, normalized[0], 1e-4);
        using var model = LlamaModel.Load(exported);
        Assert.Equal("test-rm", model.Metadata["general.name"]);
    }
}
