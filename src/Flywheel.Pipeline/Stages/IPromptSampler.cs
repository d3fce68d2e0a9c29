using Flywheel.Llama.Sampling;
using Flywheel.Pipeline.Datasets;

namespace Flywheel.Pipeline.Stages;

/// <summary>Samples K candidates per prompt: in process (<see cref="CandidateSampler"/>) or on inference servers.</summary>
internal interface IPromptSampler : IDisposable
{
    /// <summary>Why this sampler cannot take <paramref name="prompt"/>, or null: the check to read its prompts with.</summary>
    string? Problem(PromptRecord prompt);

    /// <summary>Time the sampler was at work.</summary>
    TimeSpan BusyTime { get; }

    /// <summary>
    /// Samples every prompt; results come as prompts finish (not necessarily in input order), each with its prompt.
    /// Each prompt's seed is derived from (<paramref name="runSeed"/>, <paramref name="round"/>, <paramref name="purpose"/>, its id).
    /// </summary>
    IAsyncEnumerable<(PromptItem Item, GenerationResult Result)> SampleAsync(IAsyncEnumerable<PromptItem> prompts, ulong runSeed, int round, string purpose, CancellationToken ct);
}
