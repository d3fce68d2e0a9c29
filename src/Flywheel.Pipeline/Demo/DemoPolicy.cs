using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Llama.Gguf;
using Flywheel.Training;
using Flywheel.Training.Sft;

namespace Flywheel.Pipeline.Demo;

/// <summary>Pretrains the demo's starting policy: a randomly initialised tiny Llama, SFT on the imperfect corpus.</summary>
internal static class DemoPolicy
{
    internal static SftExample Example(string prompt, string reply) => new([new ChatMessage("user", prompt)], reply);

    /// <summary>
    /// Writes the policy to <paramref name="path"/>. CPU and one thread on purpose: LibTorch's reductions then run in
    /// one order, so the same recipe gives the same bytes run after run (across CPUs whose vector units differ, its
    /// kernels may round differently).
    /// </summary>
    internal static void Pretrain(DemoRecipe recipe, IReadOnlyList<CorpusRow> corpus, string path,
        IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        string initial = path + ".init-" + Environment.ProcessId;
        try
        {
            TinyLlama.Create(initial, new TinyLlamaOptions
            {
                Hyperparameters = recipe.Model, Seed = recipe.ModelSeed, InitStd = recipe.InitStd, Name = "flywheel-demo-policy",
            });
            using (var trainer = new SftTrainer(initial, new SftOptions
            {
                Device = ComputeDevice.Cpu, Threads = 1, Epochs = recipe.PretrainEpochs, LearningRate = recipe.PretrainLearningRate,
                WarmupSteps = recipe.PretrainWarmupSteps, MaxLength = recipe.MaxLength,
                TokensPerBatch = recipe.PretrainBatchSequences * recipe.MaxLength, Seed = recipe.PretrainSeed,
            }))
            {
                trainer.Train(corpus.Select(r => Example(r.Problem.Prompt, r.Shown)).ToList(), progress: progress, cancellationToken: cancellationToken);
                trainer.Export(path, "flywheel-demo-policy"); // atomically: a GGUF appears whole or not at all
            }
        }
        finally
        {
            File.Delete(initial);
        }
    }
}
