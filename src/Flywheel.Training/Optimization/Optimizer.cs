using Flywheel.Training.Torch;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flywheel.Training.Optimization;

/// <summary>
/// AdamW (decoupled weight decay for matrices, none for norms and biases) computed as torch's is; each step clips
/// the global gradient norm, applies the scheduled learning rate and clears the gradients. Our own rather than
/// TorchSharp's, whose step passes its numbers to libtorch as Scalars it does not keep alive (see <see cref="HeldScalars"/>).
/// </summary>
internal sealed class Optimizer : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly double[] _weightDecay;
    private readonly long[] _steps;
    private readonly Tensor[] _firstMoments, _secondMoments;
    private readonly double _beta1, _beta2, _epsilon, _maxNorm;

    internal Optimizer(IReadOnlyList<Parameter> parameters, TrainingOptions options)
    {
        _parameters = [.. parameters];
        if (_parameters.Length == 0) throw new ArgumentException("no parameter is trainable");
        _weightDecay = [.. _parameters.Select(p => p.dim() >= 2 ? options.WeightDecay : 0)];
        _steps = new long[_parameters.Length];
        _firstMoments = [.. _parameters.Select(Zeros)];
        _secondMoments = [.. _parameters.Select(Zeros)];
        (_beta1, _beta2, _epsilon) = (options.Beta1, options.Beta2, options.Epsilon);
        // No clipping still reports the norm: an infinite threshold never scales.
        _maxNorm = options.MaxGradientNorm > 0 ? options.MaxGradientNorm : double.PositiveInfinity;
    }

    /// <summary>Updates done so far (the schedule's position).</summary>
    internal int Step { get; set; }

    /// <summary>Applies one update with <paramref name="learningRate"/>; returns the gradient norm before clipping.</summary>
    internal double Update(double learningRate)
    {
        double norm = nn.utils.clip_grad_norm_(_parameters, _maxNorm);
        using (no_grad())
        {
            for (int i = 0; i < _parameters.Length; i++)
            {
                using var grad = _parameters[i].grad;
                if (grad is null) continue;
                Update(i, grad, learningRate);
            }
        }
        ClearGradients();
        Step++;
        return norm;
    }

    private void Update(int i, Tensor grad, double lr)
    {
        var p = _parameters[i];
        long step = ++_steps[i];
        if (_weightDecay[i] > 0) p.TimesInPlace(1 - lr * _weightDecay[i]);
        double correction1 = 1 - Math.Pow(_beta1, step), correction2 = 1 - Math.Pow(_beta2, step);
        _firstMoments[i].TimesInPlace(_beta1).PlusInPlace(grad, 1 - _beta1);
        _secondMoments[i].TimesInPlace(_beta2).PlusProductInPlace(grad, grad, 1 - _beta2);
        using var root = _secondMoments[i].sqrt();
        using var denominator = root.DividedBy(Math.Sqrt(correction2));
        denominator.PlusInPlace(_epsilon);
        p.PlusQuotientInPlace(_firstMoments[i], denominator, -lr / correction1);
    }

    internal void ClearGradients()
    {
        foreach (var p in _parameters)
        {
            using var grad = p.grad;
            grad?.zero_();
        }
    }

    /// <summary>Each parameter's step count and moments.</summary>
    internal byte[] SaveState()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(_parameters.Length);
            for (int i = 0; i < _parameters.Length; i++)
            {
                writer.Write(_steps[i]);
                Write(writer, _firstMoments[i]);
                Write(writer, _secondMoments[i]);
            }
        }
        return stream.ToArray();
    }

    internal void RestoreState(byte[] state)
    {
        using var reader = new BinaryReader(new MemoryStream(state));
        int count = reader.ReadInt32();
        if (count != _parameters.Length) throw new InvalidDataException($"the optimizer state holds {count} tensors, this run trains {_parameters.Length}");
        for (int i = 0; i < count; i++)
        {
            _steps[i] = reader.ReadInt64();
            Read(reader, _firstMoments[i]);
            Read(reader, _secondMoments[i]);
        }
    }

    private static void Write(BinaryWriter writer, Tensor moment)
    {
        var values = TensorFloats.Read(moment);
        writer.Write(values.Length);
        writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
    }

    private static void Read(BinaryReader reader, Tensor moment)
    {
        int count = reader.ReadInt32();
        if (count != moment.numel()) throw new InvalidDataException($"an optimizer moment of {count} values for a tensor of {moment.numel()}");
        var values = new float[count];
        reader.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        using var stored = tensor(values, moment.shape, ScalarType.Float32);
        using (no_grad()) moment.copy_(stored);
    }

    private static Tensor Zeros(Parameter p) => zeros_like(p).DetachFromDisposeScope();

    public void Dispose()
    {
        foreach (var m in _firstMoments.Concat(_secondMoments)) m.Dispose();
    }
}
