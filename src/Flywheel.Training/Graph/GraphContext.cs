using System.Runtime.InteropServices;
using Flywheel.Training.Native;
using Flywheel.Training.Backends;
using N = Flywheel.Training.Native.GgmlTensorNative;

namespace Flywheel.Training.Graph;

/// <summary>
/// One computation graph being built: its metadata context, its inputs (written after the scheduler allocates them,
/// before every compute, because the allocator reuses their memory) and thin wrappers over the ggml ops it uses.
/// Tensors are raw pointers valid while this object lives.
/// </summary>
internal sealed unsafe class GraphContext : IDisposable
{
    private const int TypeF32 = 0;
    private const int TypeI32 = 26;

    private readonly SafeGgmlContextHandle _context;
    private readonly List<(IntPtr Tensor, string Name, Array Data)> _inputs = new();

    internal GraphContext(int maxNodes, bool grads, string description)
    {
        // Every node and leaf is a tensor; the backward pass adds about two per forward node, views included.
        _context = SafeGgmlContextHandle.Create(maxNodes * 3, maxNodes, grads);
        Graph = N.ggml_new_graph_custom(Ctx, (nuint)maxNodes, grads);
        Description = description;
    }

    internal IntPtr Ctx => _context.DangerousGetHandle();

    internal IntPtr Graph { get; }

    /// <summary>The tensor the graph was built for (the loss when training), once built.</summary>
    internal IntPtr Result { get; set; }

    /// <summary>What the graph computes, for messages.</summary>
    internal string Description { get; }

    internal IntPtr InputF32(string name, float[] data, params long[] shape) => Input(name, TypeF32, data, shape);

    internal IntPtr InputI32(string name, int[] data, params long[] shape) => Input(name, TypeI32, data, shape);

    private IntPtr Input(string name, int type, Array data, long[] shape)
    {
        if (data.Length != shape.Aggregate(1L, (a, b) => a * b))
            throw new ArgumentException($"input '{name}': {data.Length} values for shape [{string.Join(", ", shape)}]", nameof(data));
        IntPtr t = NewTensor(type, shape);
        N.ggml_set_name(t, name);
        N.ggml_set_input(t);
        _inputs.Add((t, name, data));
        return t;
    }

    /// <summary>Marks a tensor whose value is read after compute, so the allocator keeps it.</summary>
    internal static IntPtr Output(IntPtr tensor)
    {
        N.ggml_set_output(tensor);
        return tensor;
    }

    internal void Expand(IntPtr tensor) => N.ggml_build_forward_expand(Graph, tensor);

    internal void WriteInputs()
    {
        foreach (var (tensor, name, data) in _inputs)
        {
            // Setting an input the graph does not use would abort: such an input was never allocated.
            if (((GgmlTensorHead*)tensor)->buffer == IntPtr.Zero)
                throw new InvalidOperationException($"graph input '{name}' is not used by the {Description} graph");
            var handle = GCHandle.Alloc(data, GCHandleType.Pinned);
            try
            {
                N.ggml_backend_tensor_set(tensor, (void*)handle.AddrOfPinnedObject(), 0, (nuint)(data.Length * 4));
            }
            finally
            {
                handle.Free();
            }
        }
    }

    internal static float[] Read(IntPtr tensor)
    {
        var result = new float[N.ggml_nelements(tensor)];
        fixed (float* p = result) N.ggml_backend_tensor_get(tensor, p, 0, (nuint)(result.Length * 4));
        return result;
    }

    internal static long[] Shape(IntPtr tensor)
    {
        var head = (GgmlTensorHead*)tensor;
        return [head->ne[0], head->ne[1], head->ne[2], head->ne[3]];
    }

    internal IntPtr NewTensor(int type, long[] shape)
    {
        fixed (long* ne = shape) return N.ggml_new_tensor(Ctx, type, shape.Length, ne);
    }

    internal IntPtr GetRows(IntPtr a, IntPtr rows) => N.ggml_get_rows(Ctx, a, rows);
    internal IntPtr MulMat(IntPtr a, IntPtr b) => N.ggml_mul_mat(Ctx, a, b);
    internal IntPtr RmsNorm(IntPtr a, float eps) => N.ggml_rms_norm(Ctx, a, eps);
    internal IntPtr Add(IntPtr a, IntPtr b) => N.ggml_add(Ctx, a, b);
    internal IntPtr Sub(IntPtr a, IntPtr b) => N.ggml_sub(Ctx, a, b);
    internal IntPtr Mul(IntPtr a, IntPtr b) => N.ggml_mul(Ctx, a, b);
    internal IntPtr Div(IntPtr a, IntPtr b) => N.ggml_div(Ctx, a, b);
    internal IntPtr Scale(IntPtr a, float s) => N.ggml_scale(Ctx, a, s);
    internal IntPtr ScaleBias(IntPtr a, float s, float b) => N.ggml_scale_bias(Ctx, a, s, b);
    internal IntPtr Sqr(IntPtr a) => N.ggml_sqr(Ctx, a);
    internal IntPtr Sqrt(IntPtr a) => N.ggml_sqrt(Ctx, a);
    internal IntPtr Log(IntPtr a) => N.ggml_log(Ctx, a);
    internal IntPtr Exp(IntPtr a) => N.ggml_exp(Ctx, a);
    internal IntPtr Neg(IntPtr a) => N.ggml_neg(Ctx, a);
    internal IntPtr Relu(IntPtr a) => N.ggml_relu(Ctx, a);
    internal IntPtr Softplus(IntPtr a) => N.ggml_softplus(Ctx, a);
    internal IntPtr Sum(IntPtr a) => N.ggml_sum(Ctx, a);
    internal IntPtr SwigluSplit(IntPtr gate, IntPtr up) => N.ggml_swiglu_split(Ctx, gate, up);
    internal IntPtr Cont(IntPtr a) => N.ggml_cont(Ctx, a);
    internal IntPtr Reshape(IntPtr a, long ne0, long ne1) => N.ggml_reshape_2d(Ctx, a, ne0, ne1);
    internal IntPtr Reshape(IntPtr a, long ne0, long ne1, long ne2) => N.ggml_reshape_3d(Ctx, a, ne0, ne1, ne2);
    internal IntPtr Reshape(IntPtr a, long ne0, long ne1, long ne2, long ne3) => N.ggml_reshape_4d(Ctx, a, ne0, ne1, ne2, ne3);
    internal IntPtr Permute(IntPtr a, int ax0, int ax1, int ax2, int ax3) => N.ggml_permute(Ctx, a, ax0, ax1, ax2, ax3);
    internal IntPtr SoftMax(IntPtr a, IntPtr mask, float scale) => N.ggml_soft_max_ext(Ctx, a, mask, scale, 0f);
    internal IntPtr CrossEntropy(IntPtr logits, IntPtr labels) => N.ggml_cross_entropy_loss(Ctx, logits, labels);

    public void Dispose() => _context.Dispose();
}
