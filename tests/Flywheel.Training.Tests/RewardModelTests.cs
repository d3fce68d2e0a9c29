using System.Diagnostics;
using Flywheel.Llama;
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
}
