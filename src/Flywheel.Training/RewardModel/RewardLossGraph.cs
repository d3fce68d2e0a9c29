using Flywheel.Training.Graph;

namespace Flywheel.Training.RewardModel;

/// <summary>
/// The reward-model losses as ggml ops that all have a backward pass (ggml's sigmoid has none): −log σ(x) is written
/// softplus(−x), clamps are written with relu.
/// </summary>
internal static class RewardLossGraph
{
    /// <summary>XTuner clamps rewards this far inside the barrier's bounds.</summary>
    internal const double BarrierEpsilon = 1e-3;

    /// <summary>
    /// The summed loss of a micro-batch times <paramref name="scale"/>: chosen and rejected rewards are [1, P], margins
    /// [1, P] (0 where a pair has none). Penalties are per pair, as XTuner and TRL define them.
    /// </summary>
    internal static IntPtr Build(GraphContext g, IntPtr chosen, IntPtr rejected, IntPtr margins, RewardModelOptions o, float scale)
    {
        IntPtr x = g.Sub(g.Sub(chosen, rejected), margins);
        IntPtr perPair = g.Softplus(g.Neg(x));
        if (o.Loss == RewardLoss.Focal)
        {
            // (1 − 2·relu(σ(x) − ½))^γ = exp(−γ·relu(softplus(x) − ln 2)): equal for every x, and finite where σ(x) rounds to 1.
            IntPtr modulation = g.Exp(g.Scale(g.Relu(g.ScaleBias(g.Softplus(x), 1, -MathF.Log(2))), (float)-o.FocalGamma));
            perPair = g.Mul(modulation, perPair);
        }
        IntPtr loss = g.Sum(perPair);
        if (o.LogBarrierWeight > 0)
            loss = g.Add(loss, g.Scale(g.Add(g.Sum(Barrier(g, chosen, o)), g.Sum(Barrier(g, rejected, o))), (float)o.LogBarrierWeight));
        if (o.L2Weight > 0)
            loss = g.Add(loss, g.Scale(g.Add(g.Sum(g.Sqr(chosen)), g.Sum(g.Sqr(rejected))), (float)o.L2Weight));
        if (o.CenterRewardsCoefficient > 0)
            loss = g.Add(loss, g.Scale(g.Sum(g.Sqr(g.Add(chosen, rejected))), (float)o.CenterRewardsCoefficient));
        return g.Scale(loss, scale);
    }

    // −log(u − c) − log(c − l) with c = clamp(r, l + ε, u − ε) = (l + ε) + relu(r − (l + ε)) − relu(r − (u − ε)).
    private static IntPtr Barrier(GraphContext g, IntPtr r, RewardModelOptions o)
    {
        float lo = (float)(o.LogBarrierLower + BarrierEpsilon), hi = (float)(o.LogBarrierUpper - BarrierEpsilon);
        IntPtr c = g.ScaleBias(g.Sub(g.Relu(g.ScaleBias(r, 1, -lo)), g.Relu(g.ScaleBias(r, 1, -hi))), 1, lo);
        IntPtr toUpper = g.ScaleBias(c, -1, (float)o.LogBarrierUpper);
        IntPtr fromLower = g.ScaleBias(c, 1, (float)-o.LogBarrierLower);
        return g.Neg(g.Add(g.Log(toUpper), g.Log(fromLower)));
    }
}
