using Flywheel.Llama.Native;

namespace Flywheel.Llama.Sampling;

/// <summary>Builds llama.cpp sampler chains from <see cref="SamplingOptions"/>.</summary>
internal static class SamplerChain
{
    internal static SafeLlamaSamplerHandle Create(SamplingOptions options, uint seed)
    {
        var chain = new SafeLlamaSamplerHandle(LlamaNative.llama_sampler_chain_init(new LlamaSamplerChainParams { no_perf = 1 }));
        if (options.Temperature == 0)
        {
            LlamaNative.llama_sampler_chain_add(chain, LlamaNative.llama_sampler_init_greedy());
            return chain;
        }
        if (options.TopK > 0) LlamaNative.llama_sampler_chain_add(chain, LlamaNative.llama_sampler_init_top_k(options.TopK));
        if (options.TopP < 1) LlamaNative.llama_sampler_chain_add(chain, LlamaNative.llama_sampler_init_top_p(options.TopP, 1));
        if (options.MinP > 0) LlamaNative.llama_sampler_chain_add(chain, LlamaNative.llama_sampler_init_min_p(options.MinP, 1));
        LlamaNative.llama_sampler_chain_add(chain, LlamaNative.llama_sampler_init_temp(options.Temperature));
        LlamaNative.llama_sampler_chain_add(chain, LlamaNative.llama_sampler_init_dist(seed));
        return chain;
    }
}
