using Flywheel.Llama;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Datasets;
using Flywheel.Pipeline.Resilience;
using Flywheel.Pipeline.Runs;
using Flywheel.Pipeline.Verifiers;

namespace Flywheel.Pipeline.Stages;

/// <summary>What every stage of a round needs: the run, its config, the round's folders and models, and where to report.</summary>
internal sealed class RoundContext
{
    public required RunStore Store { get; init; }
    public required FlywheelConfig Config { get; init; }
    public required int Round { get; init; }
    public required ComputeDevice Device { get; init; }
    public required int Threads { get; init; }
    public required ResiliencePipelines Resilience { get; init; }
    public required IProgress<PipelineEvent> Progress { get; init; }
    public required Action<string> Log { get; init; }
    public IVerifier? Verifier { get; init; }

    public string Directory => Store.RoundDirectory(Round);
    public string PairsPath => Path.Combine(Directory, "pairs.jsonl");
    public string RewardModelPath => Path.Combine(Directory, "rm", "model.gguf");
    public string PartsDirectory => Path.Combine(Directory, "parts");
    public string CandidatesPath => Path.Combine(Directory, "candidates.parquet");
    public string SftPath => Path.Combine(Directory, "sft.parquet");
    public string NextPolicyPath => Path.Combine(Directory, "policy.gguf");

    /// <summary>The policy that samples this round: the config's for round 1, else the last round's SFT output.</summary>
    public string PolicyPath => Store.Manifest.Round(Round).Policy ?? throw new InvalidOperationException($"round {Round} has no policy recorded");

    public void Report(string stage, long done, long? total, string? message = null, double? tokensPerSecond = null) =>
        Progress.Report(new PipelineEvent(Round, stage, done, total, message, tokensPerSecond));

    /// <summary>Prompts of a file with the config's system prompt and limit.</summary>
    public IAsyncEnumerable<PromptRecord> ReadPrompts(string path, int? limit, CancellationToken ct)
    {
        var prompts = PromptDatasets.ReadAsync(path, new DatasetReadOptions { SystemPrompt = Config.Prompts.SystemPrompt }, ct);
        return limit is int n ? prompts.Take(n) : prompts;
    }
}
