using Flywheel.Training.Native;
using Flywheel.Training.Backends;
using N = Flywheel.Training.Native.GgmlTensorNative;

namespace Flywheel.Training.Graph;

/// <summary>A tensor to keep on the device: its GGUF name, ggml shape, initial f32 values and whether it trains.</summary>
internal sealed record ParameterSpec(string Name, long[] Shape, float[] Values, bool Trainable);

/// <summary>One persistent tensor; trainable ones have a gradient accumulator and AdamW moments of the same shape.</summary>
internal sealed class Parameter
{
    internal required string Name { get; init; }
    internal required long[] Shape { get; init; }
    internal required IntPtr Tensor { get; init; }
    internal bool Trainable => Gradient != IntPtr.Zero;

    /// <summary>Weight decay applies to matrices only: never to norms or biases.</summary>
    internal bool Decays => Trainable && Shape.Length >= 2;

    internal IntPtr Gradient { get; init; }
    internal IntPtr FirstMoment { get; init; }
    internal IntPtr SecondMoment { get; init; }
    internal long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// The f32 master weights on the primary device, with gradient accumulators (one buffer, cleared after each optimizer
/// step), AdamW moments (another buffer) and the constant 1 that seeds the backward pass (kept out of every compute
/// buffer so the allocator cannot reuse it).
/// </summary>
internal sealed unsafe class ParameterStore : IDisposable
{
    private readonly List<Parameter> _parameters = new();
    private readonly Dictionary<string, Parameter> _byName = new();
    private readonly SafeGgmlContextHandle[] _contexts;
    private readonly SafeGgmlBufferHandle[] _buffers;
    private readonly SafeGgmlBufferHandle _gradientBuffer;

    internal ParameterStore(ComputeBackend backend, IReadOnlyList<ParameterSpec> specs)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(specs);
        int trainable = specs.Count(s => s.Trainable);
        if (trainable == 0) throw new ArgumentException("no parameter is trainable", nameof(specs));
        var weights = SafeGgmlContextHandle.Create(specs.Count);
        var gradients = SafeGgmlContextHandle.Create(trainable);
        var moments = SafeGgmlContextHandle.Create(2 * trainable);
        var constants = SafeGgmlContextHandle.Create(1);
        _contexts = [weights, gradients, moments, constants];

        foreach (var spec in specs)
        {
            if (spec.Values.Length != spec.Shape.Aggregate(1L, (a, b) => a * b))
                throw new ArgumentException($"'{spec.Name}': {spec.Values.Length} values for shape [{string.Join(", ", spec.Shape)}]", nameof(specs));
            IntPtr tensor = New(weights, spec.Name, spec.Shape);
            var p = new Parameter
            {
                Name = spec.Name,
                Shape = spec.Shape,
                Tensor = tensor,
                Gradient = spec.Trainable ? New(gradients, $"grad {spec.Name}", spec.Shape) : IntPtr.Zero,
                FirstMoment = spec.Trainable ? New(moments, $"m {spec.Name}", spec.Shape) : IntPtr.Zero,
                SecondMoment = spec.Trainable ? New(moments, $"v {spec.Name}", spec.Shape) : IntPtr.Zero,
            };
            if (spec.Trainable) N.ggml_set_param(tensor);
            _parameters.Add(p);
            _byName.Add(p.Name, p);
        }
        LossSeed = New(constants, "loss seed", [1]);

        _buffers = [backend.Allocate(weights), backend.Allocate(gradients), backend.Allocate(moments), backend.Allocate(constants)];
        _gradientBuffer = _buffers[1];
        foreach (var spec in specs) Write(_byName[spec.Name].Tensor, spec.Values);
        Write(LossSeed, [1f]);
    }

    internal IReadOnlyList<Parameter> All => _parameters;

    internal IEnumerable<Parameter> Trainable => _parameters.Where(p => p.Trainable);

    internal long TrainableCount => Trainable.Sum(p => p.ElementCount);

    internal IntPtr LossSeed { get; }

    internal Parameter this[string name] =>
        _byName.TryGetValue(name, out var p) ? p : throw new KeyNotFoundException($"no parameter named '{name}'");

    internal bool Contains(string name) => _byName.ContainsKey(name);

    internal void ClearGradients() => N.ggml_backend_buffer_clear(_gradientBuffer.DangerousGetHandle(), 0);

    internal static float[] Read(IntPtr tensor) => GraphContext.Read(tensor);

    internal static void Write(IntPtr tensor, float[] values)
    {
        if (values.Length != N.ggml_nelements(tensor)) throw new ArgumentException($"{values.Length} values for a tensor of {N.ggml_nelements(tensor)}", nameof(values));
        fixed (float* p = values) N.ggml_backend_tensor_set(tensor, p, 0, (nuint)(values.Length * 4));
    }

    private static IntPtr New(SafeGgmlContextHandle ctx, string name, long[] shape)
    {
        IntPtr t;
        fixed (long* ne = shape) t = N.ggml_new_tensor(ctx.DangerousGetHandle(), 0, shape.Length, ne);
        if (t == IntPtr.Zero) throw new InvalidOperationException($"ggml could not create tensor '{name}'");
        // ggml names hold 63 bytes; the name is only for ggml's own messages.
        N.ggml_set_name(t, name.Length > 63 ? name[..63] : name);
        return t;
    }

    public void Dispose()
    {
        foreach (var b in _buffers) b.Dispose();
        foreach (var c in _contexts) c.Dispose();
    }
}
