using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Flywheel.Training.RewardModel;

/// <summary>
/// The reward-model objective: Bradley–Terry −log σ(r_c − r_r − margin) written as softplus (finite for any margin),
/// or InternLM2's focal variant, plus XTuner's log-barrier and L2 penalties and TRL's reward centring — all per pair.
/// </summary>
internal static class RewardLossFunction
{
    /// <summary>XTuner clamps rewards this far inside the barrier's bounds.</summary>
    internal const double BarrierEpsilon = 1e-3;

    /// <summary>The summed loss of a micro-batch: chosen, rejected and margins are [pairs].</summary>
    internal static Tensor Sum(Tensor chosen, Tensor rejected, Tensor margins, RewardModelOptions o)
    {
        using var x = chosen - rejected - margins;
        using var negative = x.neg();
        var perPair = F.softplus(negative);
        if (o.Loss == RewardLoss.Focal)
        {
            // (1 − 2·relu(σ(x) − ½))^γ = exp(−γ·relu(softplus(x) − ln 2)): equal for every x, and finite where σ(x) rounds to 1.
            using var modulation = (F.relu(F.softplus(x) - Math.Log(2)) * -o.FocalGamma).exp();
            var focal = modulation * perPair;
            perPair.Dispose();
            perPair = focal;
        }
        var loss = perPair.sum();
        perPair.Dispose();
        if (o.LogBarrierWeight > 0) loss = Add(loss, (Barrier(chosen, o).sum() + Barrier(rejected, o).sum()) * o.LogBarrierWeight);
        if (o.L2Weight > 0) loss = Add(loss, (chosen.square().sum() + rejected.square().sum()) * o.L2Weight);
        if (o.CenterRewardsCoefficient > 0) loss = Add(loss, (chosen + rejected).square().sum() * o.CenterRewardsCoefficient);
        return loss;
    }

    private static Tensor Add(Tensor loss, Tensor term)
    {
        var sum = loss + term;
        loss.Dispose();
        term.Dispose();
        return sum;
    }

    // −log(u − c) − log(c − l) with c = clamp(r, l + ε, u − ε).
    private static Tensor Barrier(Tensor r, RewardModelOptions o)
    {
        using var c = r.clamp(o.LogBarrierLower + BarrierEpsilon, o.LogBarrierUpper - BarrierEpsilon);
        using var toUpper = (o.LogBarrierUpper - c).log();
        using var fromLower = (c - o.LogBarrierLower).log();
        return (toUpper + fromLower).neg();
    }
}
