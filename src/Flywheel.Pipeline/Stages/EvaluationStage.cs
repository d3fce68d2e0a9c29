using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Runs;
using Flywheel.Pipeline.Verifiers;

namespace Flywheel.Pipeline.Stages;

/// <summary>
/// A policy's pass@1 at the sampling temperature: the share of K sampled candidates the verifier accepts. Seeds depend
/// on the prompts, not the policy, so two policies measured on the same prompts draw the same random numbers.
/// </summary>
internal static class EvaluationStage
{
    /// <param name="rejects">With --skip-bad: where prompts that cannot be used are set aside; null reads strictly.</param>
    /// <param name="longestPrompt">The run's longest prompt in tokens, which the sampler is sized by.</param>
    public static async Task<double> PassAt1Async(RunStore store, FlywheelConfig config, PromptsConfig source, string policyPath, IVerifier verifier, int threads,
        int longestPrompt, string? rejects, IProgress<PipelineEvent>? progress, CancellationToken ct)
    {
        using var sampler = new CandidateSampler(policyPath, config, config.Sampling.K, threads, longestPrompt, verifier);
        int index = 0;
        var (prompts, _) = RoundContext.OpenPrompts(source, sampler.Problem, rejects, ct);
        var items = prompts.Select(p => new PromptItem(index++, p));
        long correct = 0, total = 0;
        int round = store.Manifest.RoundsPlanned + 1;
        await foreach (var (item, result) in sampler.SampleAsync(items, config.Seed, round, "evaluate", ct))
        {
            correct += result.Candidates.Count(c => verifier.IsCorrect(item.Prompt, c.Text));
            total += result.Candidates.Count;
            progress?.Report(new PipelineEvent(round, "evaluate", total / config.Sampling.K, null, $"pass@1 so far {(double)correct / total:P1}"));
        }
        return total == 0 ? 0 : (double)correct / total;
    }
}
