using Flywheel.Pipeline.Sampling.Remote;

namespace Flywheel.Pipeline.Stages;

/// <summary>Chooses the sampler of a round's selection prompts by <c>sampling.backend</c>.</summary>
internal static class PromptSamplers
{
    public static IPromptSampler ForSelection(RoundContext ctx, int threads) => ctx.Config.Sampling.Backend == "openai"
        ? new RemoteSampler(ctx.PolicyPath, ctx.Config, ctx.Verifier, ctx.Round, ctx.Progress, ctx.Log)
        : new CandidateSampler(ctx.PolicyPath, ctx.Config, ctx.Config.Sampling.K, threads, ctx.LongestPrompt, ctx.Verifier);
}
