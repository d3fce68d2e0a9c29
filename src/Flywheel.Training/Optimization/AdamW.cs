using Flywheel.Training.Backends;
using Flywheel.Training.Graph;
using N = Flywheel.Training.Native.GgmlTensorNative;

namespace Flywheel.Training.Optimization;

/// <summary>
/// AdamW by hand: one ggml graph per update computes the global gradient norm, scales every gradient by
/// min(1, max_norm / norm), and applies ggml_opt_step_adamw to each trainable tensor with its own moments —
/// decoupled weight decay for matrices, none for norms and biases. The gradient accumulators are cleared afterwards.
/// </summary>
internal sealed class AdamW
{
    private readonly ComputeBackend _backend;
    private readonly ParameterStore _parameters;
    private readonly TrainingOptions _options;

    internal AdamW(ComputeBackend backend, ParameterStore parameters, TrainingOptions options)
    {
        _backend = backend;
        _parameters = parameters;
        _options = options;
    }

    /// <summary>Updates done so far (the bias corrections depend on it).</summary>
    internal int Step { get; set; }

    /// <summary>Applies one update with learning rate <paramref name="learningRate"/>; returns the gradient norm before clipping.</summary>
    internal double Update(double learningRate)
    {
        var trainable = _parameters.Trainable.ToList();
        using var g = new GraphContext(trainable.Count * 8 + 16, grads: false, "AdamW");
        int t = Step + 1;
        float[] Hyper(double decay) =>
        [
            (float)learningRate, (float)_options.Beta1, (float)_options.Beta2, (float)_options.Epsilon, (float)decay,
            (float)(1 / (1 - Math.Pow(_options.Beta1, t))), (float)(1 / (1 - Math.Pow(_options.Beta2, t))),
        ];
        IntPtr withDecay = trainable.Any(p => p.Decays) ? g.InputF32("adamw decay", Hyper(_options.WeightDecay), 7) : IntPtr.Zero;
        IntPtr withoutDecay = trainable.Any(p => !p.Decays) ? g.InputF32("adamw no decay", Hyper(0), 7) : IntPtr.Zero;

        IntPtr sumSquares = IntPtr.Zero;
        foreach (var p in trainable)
        {
            IntPtr s = g.Sum(g.Sqr(p.Gradient));
            sumSquares = sumSquares == IntPtr.Zero ? s : g.Add(sumSquares, s);
        }
        IntPtr norm = GraphContext.Output(g.Sqrt(sumSquares));
        g.Expand(norm);

        IntPtr scale = IntPtr.Zero;
        if (_options.MaxGradientNorm > 0)
        {
            // max_norm / (max_norm + relu(norm − max_norm)) is 1 below the threshold and max_norm / norm above it.
            float c = (float)_options.MaxGradientNorm;
            IntPtr clip = g.InputF32("max grad norm", [c], 1);
            scale = g.Div(clip, g.ScaleBias(g.Relu(g.ScaleBias(norm, 1, -c)), 1, c));
        }
        foreach (var p in trainable)
        {
            IntPtr grad = scale == IntPtr.Zero ? p.Gradient : g.Mul(p.Gradient, scale);
            g.Expand(N.ggml_opt_step_adamw(g.Ctx, p.Tensor, grad, p.FirstMoment, p.SecondMoment, p.Decays ? withDecay : withoutDecay));
        }
        _backend.Compute(g);
        double result = GraphContext.Read(norm)[0];
        _parameters.ClearGradients();
        Step++;
        return result;
    }
}
