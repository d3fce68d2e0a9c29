using Flywheel.Llama.Contexts;
using Flywheel.Llama.Gguf;
using Flywheel.Llama.Sampling;
using LLama.Native;

namespace Flywheel.Llama.Tests;

public class TokenSamplerTests
{
    private static readonly Lazy<LlamaModel> RealVocabularyModel = new(() => LlamaModel.Load(TestModels.Make("llama3-vocab.gguf", new TinyLlamaOptions
    {
        Seed = 5, InitStd = 0.25f, VocabularyFrom = TestModels.DataPath("vocab", "ggml-vocab-llama-bpe.gguf"),
        Hyperparameters = new LlamaHyperparameters { EmbeddingLength = 64, Layers = 1, Heads = 1, KvHeads = 1, FeedForwardLength = 64, ContextLength = 256, TiedOutput = true },
    })));

    [Theory]
    [InlineData(1000, 40)]
    [InlineData(263, 1)]
    [InlineData(263, 263)]
    [InlineData(37, 5)] // shorter than a few vectors, with a scalar tail
    public void The_top_k_are_the_k_largest_logits_highest_first_with_ties_in_vocabulary_order(int n, int k)
    {
        var random = new Random(n * 31 + k);
        for (int trial = 0; trial < 50; trial++)
        {
            // Rounded to a few levels, so that ties are common, and rising on some trials, which moves the threshold often.
            var logits = Enumerable.Range(0, n).Select(i => MathF.Round((float)random.NextDouble() * 8) + (trial % 3 == 0 ? i * 0.001f : 0)).ToArray();
            var top = new LLamaTokenData[k];
            TopKLogits.Select(logits, top);
            var expected = logits.Select((logit, id) => (logit, id)).OrderByDescending(t => t.logit).ThenBy(t => t.id).Take(k).ToArray();
            Assert.Equal(expected.Select(t => t.id), top.Select(t => (int)t.ID));
            Assert.Equal(expected.Select(t => t.logit), top.Select(t => t.Logit));
        }
    }

    [Theory]
    [InlineData(0.8f, 40, 0.95f, 0.05f)]
    [InlineData(1.5f, 5, 1f, 0f)]
    [InlineData(0.7f, 100, 0.9f, 0.1f)]
    [InlineData(0.8f, 0, 0.95f, 0.05f)] // no top-k: the whole vocabulary
    [InlineData(0f, 40, 0.95f, 0.05f)] // greedy
    public void Draws_the_tokens_llama_cpps_own_chain_draws_from_a_128K_vocabulary(float temperature, int topK, float topP, float minP)
    {
        var model = RealVocabularyModel.Value;
        var tokens = model.Vocabulary.Tokenize("The flywheel turns preference pairs into better data, round after round.", addSpecial: true);
        using var ctx = EngineContext.Create(model, 1, 256, 256, 1, embeddings: false);
        var batch = new LLamaBatch();
        for (int i = 0; i < tokens.Length; i++) batch.Add(tokens[i], i, (LLamaSeqId)0, true);
        EngineContext.Decode(ctx, batch);

        var options = new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP, MinP = minP };
        for (uint seed = 1; seed <= 3; seed++)
        {
            using var ours = new TokenSampler(options, seed);
            using var llamaCpp = FullChain(options, seed);
            var drawn = new List<int>();
            var expected = new List<int>();
            for (int draw = 0; draw < 4; draw++)
                for (int i = 0; i < tokens.Length; i++)
                {
                    drawn.Add(ours.Sample(ctx.GetLogitsIth(i)));
                    expected.Add((int)llamaCpp.Sample(ctx, i));
                }
            Assert.Equal(expected, drawn);
            if (temperature > 0) Assert.True(drawn.Distinct().Count() > tokens.Length, "the draws should vary");
        }
    }

    /// <summary>llama.cpp's chain with its own top-k (or greedy), sampling from the whole row as llama_sampler_sample does.</summary>
    private static SafeLLamaSamplerChainHandle FullChain(SamplingOptions options, uint seed)
    {
        var chain = SafeLLamaSamplerChainHandle.Create(new LLamaSamplerChainParams { NoPerf = true });
        if (options.Temperature == 0)
        {
            chain.AddGreedySampler();
            return chain;
        }
        if (options.TopK > 0) chain.AddTopK(options.TopK);
        if (options.TopP < 1) chain.AddTopP(options.TopP, 1);
        if (options.MinP > 0) chain.AddMinP(options.MinP, 1);
        chain.AddTemperature(options.Temperature);
        chain.AddDistributionSampler(seed);
        return chain;
    }
}
