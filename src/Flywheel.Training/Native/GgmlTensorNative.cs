using System.Runtime.InteropServices;

namespace Flywheel.Training.Native;

/// <summary>
/// P/Invoke for ggml's tensors, graphs, automatic differentiation, backends, buffers and the scheduler (ggml.h,
/// ggml-backend.h, ggml-alloc.h), exported by libggml-base (the device registry by libggml). The trainer's alone: it goes
/// when training moves to TorchSharp. Tensors, graphs, contexts and backends are raw pointers
/// here; their owners wrap them in SafeHandles. Several of these functions abort the process on bad shapes
/// (GGML_ASSERT): callers validate shapes first.
/// </summary>
internal static unsafe partial class GgmlTensorNative
{
    private const string Base = GgmlLibrary.Base;

    // Contexts
    [LibraryImport(Base)] internal static partial IntPtr ggml_init(GgmlInitParams @params);
    [LibraryImport(Base)] internal static partial void ggml_free(IntPtr ctx);
    [LibraryImport(Base)] internal static partial nuint ggml_tensor_overhead();
    [LibraryImport(Base)] internal static partial nuint ggml_graph_overhead_custom(nuint size, [MarshalAs(UnmanagedType.U1)] bool grads);

    // Tensors
    [LibraryImport(Base)] internal static partial IntPtr ggml_new_tensor(IntPtr ctx, int type, int nDims, long* ne);
    [LibraryImport(Base, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr ggml_set_name(IntPtr tensor, string name);
    [LibraryImport(Base)] internal static partial void ggml_set_input(IntPtr tensor);
    [LibraryImport(Base)] internal static partial void ggml_set_output(IntPtr tensor);
    [LibraryImport(Base)] internal static partial void ggml_set_param(IntPtr tensor);
    [LibraryImport(Base)] internal static partial void ggml_set_loss(IntPtr tensor);
    [LibraryImport(Base)] internal static partial long ggml_nelements(IntPtr tensor);
    [LibraryImport(Base)] internal static partial nuint ggml_nbytes(IntPtr tensor);

    // Operations (only those with a backward pass are used in differentiated graphs)
    [LibraryImport(Base)] internal static partial IntPtr ggml_get_rows(IntPtr ctx, IntPtr a, IntPtr rows);
    [LibraryImport(Base)] internal static partial IntPtr ggml_mul_mat(IntPtr ctx, IntPtr a, IntPtr b);
    [LibraryImport(Base)] internal static partial IntPtr ggml_rms_norm(IntPtr ctx, IntPtr a, float eps);
    [LibraryImport(Base)] internal static partial IntPtr ggml_add(IntPtr ctx, IntPtr a, IntPtr b);
    [LibraryImport(Base)] internal static partial IntPtr ggml_sub(IntPtr ctx, IntPtr a, IntPtr b);
    [LibraryImport(Base)] internal static partial IntPtr ggml_mul(IntPtr ctx, IntPtr a, IntPtr b);
    [LibraryImport(Base)] internal static partial IntPtr ggml_div(IntPtr ctx, IntPtr a, IntPtr b);
    [LibraryImport(Base)] internal static partial IntPtr ggml_scale(IntPtr ctx, IntPtr a, float s);
    [LibraryImport(Base)] internal static partial IntPtr ggml_scale_bias(IntPtr ctx, IntPtr a, float s, float b);
    [LibraryImport(Base)] internal static partial IntPtr ggml_sqr(IntPtr ctx, IntPtr a);
    [LibraryImport(Base)] internal static partial IntPtr ggml_sqrt(IntPtr ctx, IntPtr a);
    [LibraryImport(Base)] internal static partial IntPtr ggml_log(IntPtr ctx, IntPtr a);
    [LibraryImport(Base)] internal static partial IntPtr ggml_exp(IntPtr ctx, IntPtr a);
    [LibraryImport(Base)] internal static partial IntPtr ggml_neg(IntPtr ctx, IntPtr a);
    [LibraryImport(Base)] internal static partial IntPtr ggml_relu(IntPtr ctx, IntPtr a);
    [LibraryImport(Base)] internal static partial IntPtr ggml_softplus(IntPtr ctx, IntPtr a);
    [LibraryImport(Base)] internal static partial IntPtr ggml_sum(IntPtr ctx, IntPtr a);
    [LibraryImport(Base)] internal static partial IntPtr ggml_swiglu_split(IntPtr ctx, IntPtr a, IntPtr b);
    [LibraryImport(Base)] internal static partial IntPtr ggml_cont(IntPtr ctx, IntPtr a);
    [LibraryImport(Base)] internal static partial IntPtr ggml_reshape_2d(IntPtr ctx, IntPtr a, long ne0, long ne1);
    [LibraryImport(Base)] internal static partial IntPtr ggml_reshape_3d(IntPtr ctx, IntPtr a, long ne0, long ne1, long ne2);
    [LibraryImport(Base)] internal static partial IntPtr ggml_reshape_4d(IntPtr ctx, IntPtr a, long ne0, long ne1, long ne2, long ne3);
    [LibraryImport(Base)] internal static partial IntPtr ggml_permute(IntPtr ctx, IntPtr a, int axis0, int axis1, int axis2, int axis3);
    [LibraryImport(Base)] internal static partial IntPtr ggml_soft_max_ext(IntPtr ctx, IntPtr a, IntPtr mask, float scale, float maxBias);
    [LibraryImport(Base)]
    internal static partial IntPtr ggml_rope_ext(IntPtr ctx, IntPtr a, IntPtr positions, IntPtr freqFactors, int nDims, int mode, int nCtxOrig,
        float freqBase, float freqScale, float extFactor, float attnFactor, float betaFast, float betaSlow);
    [LibraryImport(Base)] internal static partial IntPtr ggml_cross_entropy_loss(IntPtr ctx, IntPtr logits, IntPtr labels);
    [LibraryImport(Base)] internal static partial IntPtr ggml_opt_step_adamw(IntPtr ctx, IntPtr a, IntPtr grad, IntPtr m, IntPtr v, IntPtr adamwParams);

    // Graphs and automatic differentiation
    [LibraryImport(Base)] internal static partial IntPtr ggml_new_graph_custom(IntPtr ctx, nuint size, [MarshalAs(UnmanagedType.U1)] bool grads);
    [LibraryImport(Base)] internal static partial void ggml_build_forward_expand(IntPtr graph, IntPtr tensor);
    [LibraryImport(Base)] internal static partial void ggml_build_backward_expand(IntPtr ctx, IntPtr graph, IntPtr* gradAccumulators);
    [LibraryImport(Base)] internal static partial int ggml_graph_n_nodes(IntPtr graph);
    [LibraryImport(Base)] internal static partial IntPtr ggml_graph_node(IntPtr graph, int i);

    // Backends, buffers
    [LibraryImport(GgmlLibrary.Registry)] internal static partial IntPtr ggml_backend_dev_by_type(GgmlBackendDeviceType type);
    [LibraryImport(Base, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr ggml_backend_dev_init(IntPtr device, string? @params);
    [LibraryImport(Base)] internal static partial IntPtr ggml_backend_dev_backend_reg(IntPtr device);
    [LibraryImport(Base, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr ggml_backend_reg_get_proc_address(IntPtr reg, string name);
    [LibraryImport(Base)] internal static partial void ggml_backend_free(IntPtr backend);
    [LibraryImport(Base)] internal static partial byte* ggml_backend_name(IntPtr backend);
    [LibraryImport(Base)] internal static partial IntPtr ggml_backend_get_default_buffer_type(IntPtr backend);
    [LibraryImport(Base)] internal static partial IntPtr ggml_backend_alloc_ctx_tensors_from_buft(IntPtr ctx, IntPtr bufferType);
    [LibraryImport(Base)] internal static partial void ggml_backend_buffer_free(IntPtr buffer);
    [LibraryImport(Base)] internal static partial void ggml_backend_buffer_clear(IntPtr buffer, byte value);
    [LibraryImport(Base)] internal static partial void ggml_backend_tensor_set(IntPtr tensor, void* data, nuint offset, nuint size);
    [LibraryImport(Base)] internal static partial void ggml_backend_tensor_get(IntPtr tensor, void* data, nuint offset, nuint size);

    // Scheduler
    [LibraryImport(Base)]
    internal static partial IntPtr ggml_backend_sched_new(IntPtr* backends, IntPtr* bufferTypes, int nBackends, nuint graphSize,
        [MarshalAs(UnmanagedType.U1)] bool parallel, [MarshalAs(UnmanagedType.U1)] bool opOffload);
    [LibraryImport(Base)] internal static partial void ggml_backend_sched_free(IntPtr sched);
    [LibraryImport(Base)] internal static partial void ggml_backend_sched_reset(IntPtr sched);
    [LibraryImport(Base)] [return: MarshalAs(UnmanagedType.U1)] internal static partial bool ggml_backend_sched_alloc_graph(IntPtr sched, IntPtr graph);
    [LibraryImport(Base)] internal static partial GgmlStatus ggml_backend_sched_graph_compute(IntPtr sched, IntPtr graph);
    [LibraryImport(Base)] internal static partial int ggml_backend_sched_get_n_splits(IntPtr sched);
}
