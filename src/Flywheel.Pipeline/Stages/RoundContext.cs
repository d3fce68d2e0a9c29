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
    /// <summary>The configured threads, or the cores free right now: spin-waiting ggml threads collapse on a busy core.</summary>
    public int Threads => Config.Threads ?? LlamaBackend.DefaultThreadCount;
    public required ResiliencePipelines Resilience { get; init; }
    public required IProgress<PipelineEvent> Progress { get; init; }
    public required Action<string> Log { get; init; }
    public IVerifier? Verifier { get; init; }

    /// <summary>The run's longest prompt in tokens (chat template applied), measured before round 1: samplers give each sequence it and the new tokens.</summary>
    public int LongestPrompt { get; init; }

    /// <summary>Usable selection prompts, counted by the checks before round 1 (the sample stage's progress total).</summary>
    public long SelectionPrompts { get; init; }

    /// <summary>Bad dataset rows go to a rejects file in the round's folder (and are counted) instead of stopping the run.</summary>
    public bool SkipBad { get; init; }

    public string Directory => Store.RoundDirectory(Round);
    public string PairsPath => Path.Combine(Directory, "pairs.jsonl");
    public string RewardModelPath => Path.Combine(Directory, "rm", "model.gguf");
    public string PartsDirectory => Path.Combine(Directory, "parts");
    public string CandidatesPath => Path.Combine(Directory, "candidates.parquet");
    public string SftPath => Path.Combine(Directory, "sft.parquet");
    public string NextPolicyPath => Path.Combine(Directory, "policy.gguf");

    /// <summary>The policy that samples this round: the config's for round 1, else the last round's SFT output.</summary>
    public string PolicyPath => Store.Manifest.Round(Round).Policy is { } recorded ? Store.FromRecorded(recorded) : throw new InvalidOperationException($"round {Round} has no policy recorded");

    public void Report(string stage, long done, long? total, string? message = null, double? tokensPerSecond = null) =>
        Progress.Report(new PipelineEvent(Round, stage, done, total, message, tokensPerSecond));

    /// <summary>How datasets are read this round; <paramref name="rejects"/> names the rejects file for --skip-bad (null: count only).</summary>
    public DatasetReadOptions ReadOptions(string? rejects) => new()
    {
        SystemPrompt = Config.Prompts.SystemPrompt,
        SkipBad = SkipBad,
        RejectsPath = SkipBad && rejects is not null ? Path.Combine(Directory, $"rejects-{rejects}.jsonl") : null,
    };

    /// <summary>
    /// Prompts of a file with the config's system prompt and limit; the reader counts rows rejected. <paramref name="check"/>
    /// (see <see cref="DatasetReadOptions.PromptCheck"/>) makes a prompt the policy cannot take a bad row.
    /// </summary>
    public (IAsyncEnumerable<PromptRecord> Prompts, DatasetReader<PromptRecord> Reader) OpenPrompts(string path, int? limit, string? rejects,
        Func<PromptRecord, string?>? check, CancellationToken ct) =>
        OpenPrompts(path, limit, ReadOptions(rejects) with { PromptCheck = check }, ct);

    /// <summary>
    /// A configured prompts file with its system prompt and limit: read strictly (a bad row throws), or with bad rows set
    /// aside to <paramref name="rejects"/> where that is given (--skip-bad).
    /// </summary>
    public static (IAsyncEnumerable<PromptRecord> Prompts, DatasetReader<PromptRecord> Reader) OpenPrompts(PromptsConfig source,
        Func<PromptRecord, string?>? check, string? rejects, CancellationToken ct) =>
        OpenPrompts(source.Path, source.Limit, new DatasetReadOptions
        {
            SystemPrompt = source.SystemPrompt,
            PromptCheck = check,
            SkipBad = rejects is not null,
            RejectsPath = rejects,
        }, ct);

    /// <summary>Prompts of a file, the first <paramref name="limit"/> of them; the reader counts rows rejected.</summary>
    public static (IAsyncEnumerable<PromptRecord> Prompts, DatasetReader<PromptRecord> Reader) OpenPrompts(string path, int? limit, DatasetReadOptions options, CancellationToken ct)
    {
        var reader = PromptDatasets.ReadAsync(path, options, ct);
        return (limit is int n ? reader.Take(n) : reader, reader);
    }
}
