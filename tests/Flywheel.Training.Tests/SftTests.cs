using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Llama.Sampling;
using Flywheel.Training.Sft;
using Xunit.Abstractions;

namespace Flywheel.Training.Tests;

public class SftTests(ITestOutputHelper output)
{
    private static List<SftExample> Arithmetic() =>
        (from a in Enumerable.Range(0, 5)
         from b in Enumerable.Range(0, 5)
         select new SftExample([new ChatMessage("user", $"{a}+{b}=")], $"{a + b}")).ToList();

    [Fact]
    public async Task A_tiny_policy_trained_on_a_small_corpus_greedily_generates_the_trained_completions()
    {
        string path = TinyModels.Create("policy.gguf", TinyModels.Small with { EmbeddingLength = 64 }, seed: 21);
        var corpus = Arithmetic();
        string exported = TinyModels.TempPath("policy-sft.gguf");
        using (var trainer = new SftTrainer(path, new SftOptions
        {
            Device = ComputeDevice.Cpu, Threads = 1, MaxLength = 32, TokensPerBatch = 32 * 25, Epochs = 150, LearningRate = 3e-3,
            WarmupSteps = 10, Seed = 1,
        }))
        {
            double before = trainer.EvaluateLoss(corpus);
            var result = trainer.Train(corpus, corpus);
            output.WriteLine($"loss {before:F3} → {result.EvaluationLosses[^1]:F4} in {result.Losses.Count} steps");
            Assert.True(result.EvaluationLosses[^1] < 0.05, $"held-in loss {result.EvaluationLosses[^1]}");
            trainer.Export(exported);
        }

        using var model = LlamaModel.Load(exported);
        var template = ChatTemplate.FromModel(model);
        using var sampler = new BatchedSampler(model, new BatchedSamplerOptions { Sequences = 8, ContextPerSequence = 64, BatchTokens = 256, Threads = 1 });
        var requests = corpus.Select(e => new GenerationRequest
        {
            PromptTokens = model.Vocabulary.Tokenize(template.Apply(e.Prompt), addSpecial: true, parseSpecial: true),
            Sampling = SamplingOptions.Greedy with { MaxNewTokens = 8 },
            Tag = e.Completion,
        });
        int right = 0;
        await foreach (var r in sampler.GenerateAsync(requests))
        {
            var c = r.Candidates[0];
            right += c.Text == (string)r.Request.Tag! && c.FinishReason == FinishReason.EndOfGeneration ? 1 : 0;
        }
        Assert.Equal(corpus.Count, right);
    }
}
