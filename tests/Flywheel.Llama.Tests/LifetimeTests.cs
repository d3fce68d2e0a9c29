using Flywheel.Llama.Embedding;
using Flywheel.Llama.Sampling;

namespace Flywheel.Llama.Tests;

/// <summary>
/// Handles own what they need: a context keeps its model's weights alive (disposing the model lets go of the caller's
/// reference), and nothing native is used once the last owner is disposed.
/// </summary>
public class LifetimeTests
{
    [Fact]
    public async Task A_sampler_and_an_embedder_keep_working_after_their_model_is_disposed()
    {
        var model = LlamaModel.Load(TestModels.Tiny);
        var prompt = model.Vocabulary.Tokenize("keep me alive", addSpecial: true);
        using var sampler = new BatchedSampler(model, new BatchedSamplerOptions { Sequences = 2, ContextPerSequence = 256, BatchTokens = 64, Threads = 1 });
        using var embedder = new LastTokenEmbedder(model, new EmbedderOptions { Sequences = 2, ContextPerSequence = 256, BatchTokens = 256, Threads = 1 });
        var before = embedder.Embed([prompt])[0];
        model.Dispose();

        var after = embedder.Embed([prompt])[0];
        Assert.Equal(before, after);
        var request = new GenerationRequest { PromptTokens = prompt, Candidates = 2, Sampling = SamplingOptions.Greedy with { MaxNewTokens = 8 } };
        await foreach (var result in sampler.GenerateAsync([request]))
        {
            Assert.Equal(2, result.Candidates.Count);
            Assert.All(result.Candidates, c => Assert.InRange(c.TokenCount, 0, 8));
        }
    }

    [Fact]
    public void Once_the_model_and_every_context_are_disposed_the_handles_refuse_to_be_used_instead_of_touching_freed_memory()
    {
        var model = LlamaModel.Load(TestModels.Tiny);
        var vocabulary = model.Vocabulary;
        var embedder = new LastTokenEmbedder(model, new EmbedderOptions { Sequences = 1, ContextPerSequence = 256, BatchTokens = 256, Threads = 1 });
        var prompt = vocabulary.Tokenize("x", addSpecial: true);
        model.Dispose();
        Assert.Equal(prompt, vocabulary.Tokenize("x", addSpecial: true)); // the embedder's context still holds the weights
        embedder.Dispose();
        Assert.Throws<ObjectDisposedException>(() => vocabulary.Tokenize("x"));
        Assert.Throws<ObjectDisposedException>(() => model.EmbeddingLength);
        Assert.Throws<ObjectDisposedException>(() => embedder.Embed([prompt]));
    }
}
