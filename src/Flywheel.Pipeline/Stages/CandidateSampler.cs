using System.Runtime.CompilerServices;
using Flywheel.Llama.Sampling;
using Flywheel.Llama;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Datasets;
using Flywheel.Pipeline.Verifiers;

namespace Flywheel.Pipeline.Stages;

/// <summary>A prompt and its position in its file (the order final files are written in).</summary>
internal sealed record PromptItem(int Index, PromptRecord Prompt)
{
    public override string ToString() => Prompt.Id;
}

/// <summary>K candidates per prompt from a policy: the prompt formatted with the chat template, seeds derived per prompt.</summary>
internal sealed class CandidateSampler : IPromptSampler
{
    private readonly LlamaModel _model;
    private readonly PromptEncoder _encoder;
    private readonly BatchedSampler _sampler;
    private readonly SamplingOptions _sampling;
    private readonly int _k;
    private readonly IVerifier? _verifier;

    /// <param name="longestPrompt">The run's longest prompt in tokens (see <see cref="PromptEncoder.LongestPrompt"/>): each sequence holds it and the new tokens.</param>
    /// <param name="verifier">The verifier that will judge the candidates: a prompt without a reference it can use is a bad row.</param>
    public CandidateSampler(string policyPath, Config.FlywheelConfig config, int k, int threads, int longestPrompt, IVerifier? verifier)
    {
        _verifier = verifier;
        _model = LlamaModel.Load(policyPath);
        try
        {
            var s = config.Sampling;
            int sequences = Sequences(s, k);
            int context = ContextPerSequence(_model, s, longestPrompt);
            KvBudget.Check(_model, s, sequences, context);
            _encoder = new PromptEncoder(_model, config, context);
            _k = k;
            _sampling = s.ToOptions();
            _sampler = new BatchedSampler(_model, new BatchedSamplerOptions
            {
                Sequences = sequences,
                ContextPerSequence = context,
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

    /// <summary>Sequences a sampler of K candidates per prompt decodes together.</summary>
    public static int Sequences(SamplingConfig sampling, int k) => Math.Max(sampling.Sequences, k);

    /// <summary>Tokens per sequence: the longest prompt and the new tokens, at most the model's training context.</summary>
    public static int ContextPerSequence(LlamaModel model, SamplingConfig sampling, int longestPrompt) =>
        Math.Min(longestPrompt + sampling.MaxNewTokens, model.TrainingContextLength);

    public LlamaModel Model => _model;

    /// <summary>Why this policy cannot take <paramref name="prompt"/>, or null: the check to read its prompts with.</summary>
    public string? Problem(PromptRecord prompt) => _verifier?.ReferenceProblem(prompt) ?? _encoder.Problem(prompt);

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
