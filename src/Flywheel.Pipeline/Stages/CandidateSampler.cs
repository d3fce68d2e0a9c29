using System.Runtime.CompilerServices;
using Flywheel.Llama.Sampling;
using Flywheel.Llama;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Datasets;

namespace Flywheel.Pipeline.Stages;

/// <summary>A prompt and its position in its file (the order final files are written in).</summary>
internal sealed record PromptItem(int Index, PromptRecord Prompt)
{
    public override string ToString() => Prompt.Id;
}

/// <summary>K candidates per prompt from a policy: the prompt formatted with the chat template, seeds derived per prompt.</summary>
internal sealed class CandidateSampler : IDisposable
{
    private readonly LlamaModel _model;
    private readonly PromptEncoder _encoder;
    private readonly BatchedSampler _sampler;
    private readonly SamplingOptions _sampling;
    private readonly int _k;

    public CandidateSampler(string policyPath, Config.FlywheelConfig config, int k, int threads)
    {
        _model = LlamaModel.Load(policyPath);
        try
        {
            _encoder = new PromptEncoder(_model, config);
            var s = config.Sampling;
            _k = k;
            _sampling = new SamplingOptions { Temperature = s.Temperature, TopK = s.TopK, TopP = s.TopP, MinP = s.MinP, MaxNewTokens = s.MaxNewTokens, StopStrings = s.Stop };
            int sequences = Math.Max(s.Sequences, k);
            _sampler = new BatchedSampler(_model, new BatchedSamplerOptions
            {
                Sequences = sequences,
                ContextPerSequence = _encoder.ContextTokens,
                BatchTokens = Math.Max(512, sequences),
                Threads = threads,
            });
        }
        catch
        {
            _model.Dispose();
            throw;
        }
    }

    public LlamaModel Model => _model;

    /// <summary>Why this policy cannot take <paramref name="prompt"/>, or null: the check to read its prompts with.</summary>
    public string? Problem(PromptRecord prompt) => _encoder.Problem(prompt);

    /// <summary>The sampler's own busy time (decoding and sampling on its thread).</summary>
    public TimeSpan BusyTime => _sampler.BusyTime;

    /// <summary>Samples every prompt; results come as prompts finish, each with its index in the input.</summary>
    public async IAsyncEnumerable<(PromptItem Item, GenerationResult Result)> SampleAsync(
        IAsyncEnumerable<PromptItem> prompts, ulong runSeed, int round, string purpose,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var requests = prompts.Select(p => new GenerationRequest
        {
            PromptTokens = _encoder.Encode(p.Prompt),
            Candidates = _k,
            Sampling = _sampling,
            Seed = Seeds.Derive(runSeed, round, purpose, p.Prompt.Id),
            Tag = p,
        });
        await foreach (var r in _sampler.GenerateAsync(requests, ct)) yield return ((PromptItem)r.Request.Tag!, r);
    }

    public void Dispose()
    {
        _sampler.Dispose();
        _model.Dispose();
    }
}
