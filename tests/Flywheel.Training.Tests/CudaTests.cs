using Flywheel.Llama;
using Flywheel.Training.RewardModel;

namespace Flywheel.Training.Tests;

/// <summary>The same training on CUDA gives the CPU's losses; skipped where TorchSharp finds no CUDA device (always, with the CPU build).</summary>
public class CudaTests
{
    [SkippableFact]
    public void Reward_model_training_on_cuda_follows_the_cpu_run()
    {
        Skip.If(!TorchSharp.torch.cuda.is_available(), "TorchSharp finds no CUDA device (CPU build, or no GPU)");
        string path = TinyModels.Create("rm-cuda.gguf", TinyModels.Small, seed: 31);
        var pairs = SyntheticData.GoodBadPairs(32, seed: 7);
        var options = new RewardModelOptions { Threads = 1, MaxLength = 64, TokensPerBatch = 8 * 2 * 40, LearningRate = 3e-3, Epochs = 2 };
        IReadOnlyList<double> Losses(ComputeDevice device)
        {
            using var trainer = new RewardModelTrainer(path, options with { Device = device });
            Assert.Equal(device == ComputeDevice.Cuda, trainer.DeviceName.StartsWith("CUDA", StringComparison.Ordinal));
            return trainer.Train(pairs).Losses;
        }
        var cpu = Losses(ComputeDevice.Cpu);
        var cuda = Losses(ComputeDevice.Cuda);
        for (int i = 0; i < cpu.Count; i++) Assert.True(Math.Abs(cpu[i] - cuda[i]) <= 1e-3 * (1 + Math.Abs(cpu[i])), $"step {i + 1}: {cpu[i]} vs {cuda[i]}");
    }
}
