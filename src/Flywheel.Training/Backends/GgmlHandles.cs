using System.Runtime.InteropServices;
using Flywheel.Llama;
using Flywheel.Training.Native;

namespace Flywheel.Training.Backends;

/// <summary>A ggml context: the metadata of tensors and graphs (their data lives in backend buffers).</summary>
internal sealed class SafeGgmlContextHandle : SafeHandle
{
    private SafeGgmlContextHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>A metadata-only context sized for <paramref name="tensors"/> tensors and, optionally, one graph of <paramref name="graphSize"/> nodes.</summary>
    internal static SafeGgmlContextHandle Create(int tensors, int graphSize = 0, bool grads = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tensors);
        nuint size = GgmlTensorNative.ggml_tensor_overhead() * (nuint)(tensors + 1)
            + (graphSize > 0 ? GgmlTensorNative.ggml_graph_overhead_custom((nuint)graphSize, grads) : 0);
        IntPtr ctx = GgmlTensorNative.ggml_init(new GgmlInitParams { mem_size = size, mem_buffer = IntPtr.Zero, no_alloc = 1 });
        if (ctx == IntPtr.Zero) throw new LlamaException($"ggml_init could not reserve {size} bytes of tensor metadata");
        return new SafeGgmlContextHandle(ctx);
    }

    protected override bool ReleaseHandle()
    {
        GgmlTensorNative.ggml_free(handle);
        return true;
    }
}

/// <summary>A ggml backend (one device's compute stream).</summary>
internal sealed class SafeGgmlBackendHandle : SafeHandle
{
    internal SafeGgmlBackendHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        GgmlTensorNative.ggml_backend_free(handle);
        return true;
    }
}

/// <summary>A backend buffer holding the data of a context's tensors.</summary>
internal sealed class SafeGgmlBufferHandle : SafeHandle
{
    internal SafeGgmlBufferHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        GgmlTensorNative.ggml_backend_buffer_free(handle);
        return true;
    }
}

/// <summary>A backend scheduler: splits graphs across backends and owns their compute buffers.</summary>
internal sealed class SafeGgmlSchedulerHandle : SafeHandle
{
    internal SafeGgmlSchedulerHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        GgmlTensorNative.ggml_backend_sched_free(handle);
        return true;
    }
}
