using Flywheel.Llama.Chat;

namespace Flywheel.Training.RewardModel;

/// <summary>
/// A preference pair: the conversation so far and two assistant replies, <paramref name="Chosen"/> preferred.
/// <paramref name="Margin"/> (optional) asks for r_chosen − r_rejected ≥ margin (Llama 2's margin loss).
/// </summary>
public sealed record RewardPair(IReadOnlyList<ChatMessage> Prompt, string Chosen, string Rejected, double? Margin = null);

/// <summary>A reply to score in the context of its conversation.</summary>
public sealed record RewardQuery(IReadOnlyList<ChatMessage> Prompt, string Response);

/// <summary>
/// A reply as the sampler produced it: the prompt's tokens (chat template applied, as the sampler fed them) and the
/// reply's tokens as sampled. Scored on exactly these tokens, with the template's end-of-turn after the reply; the
/// reward model must share the policy's vocabulary (it does when initialised from the policy).
/// </summary>
public sealed record SampledReply(IReadOnlyList<int> PromptTokens, IReadOnlyList<int> ReplyTokens);

/// <summary>The ranking loss.</summary>
public enum RewardLoss
{
    /// <summary>Bradley–Terry: −log σ(r_c − r_r − margin).</summary>
    BradleyTerry,

    /// <summary>InternLM2's focal ranking loss: Bradley–Terry weighted by (1 − 2·max(0, σ(x) − ½))^γ, easy pairs count less.</summary>
    Focal,
}

/// <summary>Options for <see cref="RewardModelTrainer"/>.</summary>
public sealed record RewardModelOptions : TrainingOptions
{
    public RewardLoss Loss { get; init; } = RewardLoss.BradleyTerry;

    /// <summary>γ of the focal loss.</summary>
    public double FocalGamma { get; init; } = 2;

    /// <summary>Weight of XTuner's log-barrier penalty −log(u − r) − log(r − l) that keeps rewards inside (l, u); 0 for none.</summary>
    public double LogBarrierWeight { get; init; }

    public double LogBarrierLower { get; init; } = -5;
    public double LogBarrierUpper { get; init; } = 5;

    /// <summary>Weight of XTuner's L2 penalty on the rewards (Σ r² per pair); 0 for none.</summary>
    public double L2Weight { get; init; }

    /// <summary>TRL's center_rewards_coefficient: adds c · mean((r_c + r_r)²), pulling rewards towards zero mean.</summary>
    public double CenterRewardsCoefficient { get; init; }

    /// <summary>The chat template that formats prompts and replies; default: the model's own.</summary>
    public ChatTemplate? Template { get; init; }

    /// <summary>
    /// XTuner's reward token: a token id or a single token's text (e.g. "&lt;|reserved_special_token_0|&gt;") appended
    /// to every sequence, whose hidden state the head reads (the scorer appends it too). Null: the last real token.
    /// </summary>
    public string? RewardToken { get; init; }

    internal override void Validate()
    {
        base.Validate();
        if (TokensPerBatch < 2 * MaxLength)
            throw new ArgumentException($"the token budget per batch ({TokensPerBatch}) must hold one pair of max length {MaxLength} (2 × {MaxLength})");
        if (!(FocalGamma >= 0)) throw new ArgumentException($"focal γ must be ≥ 0, got {FocalGamma}");
        if (!(LogBarrierWeight >= 0) || !(L2Weight >= 0) || !(CenterRewardsCoefficient >= 0))
            throw new ArgumentException("penalty weights must be ≥ 0");
        if (!(LogBarrierLower < LogBarrierUpper - 2 * RewardLossFunction.BarrierEpsilon))
            throw new ArgumentException($"log-barrier bounds ({LogBarrierLower}, {LogBarrierUpper}) are empty");
    }
}

/// <summary>Held-out figures of a reward model: accuracy (a tie counts as wrong), mean margin, and the reward distribution.</summary>
public sealed record RewardEvaluation(int Epoch, int Pairs, double Accuracy, double MeanMargin, double RewardMean, double RewardStd);

/// <summary>The mean and standard deviation of a reward model's rewards, to normalise its scores: (r − mean) / std.</summary>
public sealed record RewardStatistics(double Mean, double Std);

/// <summary>What a reward-model training run did.</summary>
public sealed record RewardTrainingResult(
    IReadOnlyList<double> Losses,
    IReadOnlyList<RewardEvaluation> Evaluations,
    RewardStatistics Statistics,
    int TruncatedPairs,
    bool Resumed);
