using Flywheel.Training.Torch;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Flywheel.Training.RewardModel;

/// <summary>
/// The reward-model objective: Bradley–Terry −log σ(r_c − r_r − margin) (torch's log-sigmoid is finite for any margin),
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
        using var logSigmoid = F.logsigmoid(x);
        var perPair = logSigmoid.neg();
        if (o.Loss == RewardLoss.Focal)
        {
            // (1 − 2·relu(σ(x) − ½))^γ = exp(−γ·relu(softplus(x) − ln 2)): equal for every x, and finite where σ(x) rounds to 1.
            // softplus(x) = −log σ(−x): torch's softplus takes Scalars it does not keep alive (HeldScalars).
            using var negative = x.neg();
            using var logSigmoidOfNegative = F.logsigmoid(negative);
            using var softplus = logSigmoidOfNegative.neg();
            using var excess = softplus.Plus(-Math.Log(2));
            using var rectified = F.relu(excess);
            using var exponent = rectified.Times(-o.FocalGamma);
            using var modulation = exponent.exp();
            var focal = modulation * perPair;
            perPair.Dispose();
            perPair = focal;
        }
        var loss = perPair.sum();
        perPair.Dispose();
        if (o.LogBarrierWeight > 0) loss = Add(loss, o.LogBarrierWeight, Barrier(chosen, o), Barrier(rejected, o));
        if (o.L2Weight > 0) loss = Add(loss, o.L2Weight, SumOfSquares(chosen), SumOfSquares(rejected));
        if (o.CenterRewardsCoefficient > 0)
        {
            using var both = chosen.Plus(rejected);
            loss = Add(loss, o.CenterRewardsCoefficient, SumOfSquares(both));
        }
        return loss;
    }

    // loss + weight · (first + second), disposing what it is given.
    private static Tensor Add(Tensor loss, double weight, Tensor first, Tensor? second = null)
    {
        using var total = loss;
        using var a = first;
        using var b = second;
        using var term = b is null ? a.alias() : a.Plus(b);
        using var weighted = term.Times(weight);
        return total.Plus(weighted);
    }

    private static Tensor SumOfSquares(Tensor t)
    {
        using var squares = t.Squared();
        return squares.sum();
    }

    // Σ −log(u − c) − log(c − l) with c = clamp(r, l + ε, u − ε).
    private static Tensor Barrier(Tensor r, RewardModelOptions o)
    {
        using var c = r.Clamped(o.LogBarrierLower + BarrierEpsilon, o.LogBarrierUpper - BarrierEpsilon);
        using var upperGap = HeldScalars.Minus(o.LogBarrierUpper, c);
        using var toUpper = upperGap.log();
        using var lowerGap = c.Plus(-o.LogBarrierLower);
        using var fromLower = lowerGap.log();
        using var both = toUpper.Plus(fromLower);
        using var negative = both.neg();
        return negative.sum();
    }
}
