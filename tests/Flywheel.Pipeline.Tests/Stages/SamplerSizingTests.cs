using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Llama.Gguf;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Datasets;
using Flywheel.Pipeline.Stages;
using Flywheel.Pipeline.Tests.Datasets;

namespace Flywheel.Pipeline.Tests.Stages;

/// <summary>Samplers give each sequence the run's longest prompt and the new tokens, not the model's whole training context.</summary>
public class SamplerSizingTests
{
    private static string Policy(int trainingContext)
    {
        string path = TestFiles.NewPath("policy.gguf");
        TinyLlama.Create(path, new TinyLlamaOptions
        {
            Hyperparameters = new LlamaHyperparameters { EmbeddingLength = 32, Layers = 1, Heads = 2, KvHeads = 1, FeedForwardLength = 64, ContextLength = trainingContext },
        });
        return path;
    }

    [Theory]
    [InlineData(100, 128, 228)]
    [InlineData(4000, 128, 4096)] // capped by the training context
    public void The_context_per_sequence_is_the_longest_prompt_and_the_new_tokens_at_most_the_training_context(int longest, int newTokens, int expected)
    {
        using var model = LlamaModel.Load(Policy(4096), new ModelOptions { VocabularyOnly = true });
        Assert.Equal(4096, model.TrainingContextLength);
        Assert.Equal(expected, CandidateSampler.ContextPerSequence(model, new SamplingConfig { MaxNewTokens = newTokens }, longest));
    }

    [Fact]
    public async Task The_checks_before_round_1_measure_the_longest_prompt_of_every_file_the_same_on_every_pass()
    {
        string policy = Policy(4096);
        string prompts = TestFiles.WriteLines("prompts.jsonl", """{"id": "a", "prompt": "short"}""", """{"id": "b", "prompt": "a somewhat longer prompt"}""");
        string annotation = TestFiles.WriteLines("annotation.jsonl", $$"""{"id": "c", "prompt": "{{new string('x', 300)}}", "answer": "1"}""");
        var config = new FlywheelConfig
        {
            Policy = new PolicyConfig { Model = policy },
            Prompts = new PromptsConfig { Path = prompts },
            Preferences = [new PreferenceSourceConfig { Annotator = new AnnotatorConfig { Prompts = annotation } }],
        };
        int longest = (await RunChecks.RunAsync(config, policy, verifier: null, skipBad: false, CancellationToken.None)).LongestPrompt;

        using var model = LlamaModel.Load(policy, new ModelOptions { VocabularyOnly = true });
        var encoder = new PromptEncoder(model, config, model.TrainingContextLength);
        var annotated = new PromptRecord("c", [new ChatMessage("user", new string('x', 300))], "1");
        Assert.Equal(encoder.Encode(annotated).Length, longest); // the annotator's prompt, the longest of all files
        // A resumed run makes the same pass before it samples again, and so sizes its samplers the same way.
        Assert.Equal(longest, (await RunChecks.RunAsync(config, policy, verifier: null, skipBad: false, CancellationToken.None)).LongestPrompt);
    }

    [Fact]
    public async Task A_prompt_that_with_the_new_tokens_exceeds_the_training_context_is_named_with_that_context()
    {
        string policy = Policy(256);
        string prompts = TestFiles.WriteLines("prompts.jsonl", """{"id": "ok", "prompt": "short"}""", $$"""{"id": "long", "prompt": "{{new string('x', 240)}}"}""");
        var config = new FlywheelConfig { Policy = new PolicyConfig { Model = policy }, Prompts = new PromptsConfig { Path = prompts }, Sampling = new SamplingConfig { MaxNewTokens = 8 } };
        var e = await Assert.ThrowsAsync<DatasetFormatException>(() => RunChecks.RunAsync(config, policy, null, false, CancellationToken.None));
        Assert.Matches(@"prompts\.jsonl:2: prompt 'long' has \d+ tokens; with 8 new tokens that exceeds the policy's context of 256 tokens$", e.Message);
    }
}
