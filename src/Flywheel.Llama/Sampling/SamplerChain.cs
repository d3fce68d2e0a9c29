using LLama.Native;

namespace Flywheel.Llama.Sampling;

/// <summary>Builds llama.cpp sampler chains (LLamaSharp handles) from <see cref="SamplingOptions"/>.</summary>
internal static class SamplerChain
{
    internal static SafeLLamaSamplerChainHandle Create(SamplingOptions options, uint seed)
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
