using LLama.Native;

namespace Flywheel.Llama.Sampling;

/// <summary>
/// Draws a candidate's next tokens from rows of logits with the chain <see cref="SamplingOptions"/> describes
/// (top-k, top-p, min-p, temperature, a seeded draw; or greedy). Top-k and greedy run here over the logits in place
/// (<see cref="TopKLogits"/>), and llama.cpp's chain (a LLamaSharp handle) runs the rest on those k: llama.cpp's own
/// top-k first copies the whole row into an array of n_vocab entries and partially sorts it, which with a 128K
/// vocabulary took ~15% of a generated token (bench/README.md). The tokens drawn are the ones llama.cpp's full chain draws.
/// </summary>
internal sealed class TokenSampler : IDisposable
{
    private readonly SafeLLamaSamplerChainHandle? _chain;
    private readonly LLamaTokenData[]? _top;
    private LLamaTokenData[]? _all;

    public TokenSampler(SamplingOptions options, uint seed)
    {
        if (options.Temperature == 0)
        {
            _top = new LLamaTokenData[1];
            return;
        }
        _chain = SafeLLamaSamplerChainHandle.Create(new LLamaSamplerChainParams { NoPerf = true });
        if (options.TopK > 0) _top = new LLamaTokenData[options.TopK];
        if (options.TopP < 1) _chain.AddTopP(options.TopP, 1);
        if (options.MinP > 0) _chain.AddMinP(options.MinP, 1);
        _chain.AddTemperature(options.Temperature);
        _chain.AddDistributionSampler(seed);
    }

    /// <summary>The token drawn from a row of logits (one per vocabulary entry).</summary>
    public int Sample(ReadOnlySpan<float> logits)
    {
        Memory<LLamaTokenData> candidates;
        if (_top is not null)
        {
            candidates = _top.AsMemory(0, Math.Min(_top.Length, logits.Length));
            TopKLogits.Select(logits, candidates.Span);
            if (_chain is null) return (int)candidates.Span[0].ID;
        }
        else
        {
            // No top-k: the chain sees the whole vocabulary, as llama_sampler_sample lays it out.
            if (_all is null || _all.Length != logits.Length) _all = new LLamaTokenData[logits.Length];
            for (int i = 0; i < logits.Length; i++) _all[i] = new LLamaTokenData((LLamaToken)i, logits[i], 0);
            candidates = _all;
        }

        // As llama_sampler_sample does after building its array: apply the chain, then let it see the choice.
        using var pin = LLamaTokenDataArrayNative.Create(new LLamaTokenDataArray(candidates, isSorted: _top is not null), out var array);
        _chain!.Apply(ref array);
        var token = array.Data[checked((int)array.Selected)].ID;
        _chain.Accept(token);
        return (int)token;
    }

    public void Dispose() => _chain?.Dispose();
}
