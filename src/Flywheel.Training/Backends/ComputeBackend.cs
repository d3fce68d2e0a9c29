using Flywheel.Llama;
using Flywheel.Training.Native;
using Flywheel.Training.Graph;

namespace Flywheel.Training.Backends;

/// <summary>
/// The devices a trainer computes on: the GPU (when asked for or, with <see cref="ComputeDevice.Auto"/>, when ggml
/// found one) and always the CPU, last, for whatever the GPU cannot run. One ggml_backend_sched runs every graph, so
/// CPU and CUDA execute the same code. Not thread-safe.
/// </summary>
internal sealed unsafe class ComputeBackend : IDisposable
{
    private readonly SafeGgmlBackendHandle? _gpu;
    private readonly SafeGgmlBackendHandle _cpu;
    private readonly SafeGgmlSchedulerHandle _scheduler;

    internal ComputeBackend(ComputeDevice device, int threads, int maxGraphNodes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxGraphNodes, 1);
        if (device == ComputeDevice.Cuda) LlamaBackend.Initialize(new BackendOptions { Device = ComputeDevice.Cuda });
        else LlamaBackend.EnsureInitialized();

        IntPtr gpuDevice = device == ComputeDevice.Cpu ? IntPtr.Zero : GgmlTensorNative.ggml_backend_dev_by_type(GgmlBackendDeviceType.Gpu);
        if (device == ComputeDevice.Cuda && gpuDevice == IntPtr.Zero)
            throw new LlamaException("--device cuda was asked for, but ggml found no GPU");
        IntPtr cpuDevice = GgmlTensorNative.ggml_backend_dev_by_type(GgmlBackendDeviceType.Cpu);
        if (cpuDevice == IntPtr.Zero) throw new LlamaException("ggml registered no CPU backend (are the native libraries complete?)");

        _cpu = Init(cpuDevice, "CPU");
        SetThreads(cpuDevice, _cpu, threads);
        if (gpuDevice != IntPtr.Zero) _gpu = Init(gpuDevice, "GPU");
        Primary = _gpu ?? _cpu;
        IsGpu = _gpu is not null;
        Name = System.Runtime.InteropServices.Marshal.PtrToStringUTF8((IntPtr)GgmlTensorNative.ggml_backend_name(Primary.DangerousGetHandle())) ?? "?";
        Threads = threads;

        // The CPU backend comes last: the scheduler gives each op to the first backend that supports it.
        IntPtr* backends = stackalloc IntPtr[2];
        int n = 0;
        if (_gpu is not null) backends[n++] = _gpu.DangerousGetHandle();
        backends[n++] = _cpu.DangerousGetHandle();
        IntPtr sched = GgmlTensorNative.ggml_backend_sched_new(backends, null, n, (nuint)maxGraphNodes, parallel: false, opOffload: false);
        if (sched == IntPtr.Zero) throw new LlamaException($"could not create a ggml scheduler for {Name}");
        _scheduler = new SafeGgmlSchedulerHandle(sched);
        MaxGraphNodes = maxGraphNodes;
    }

    /// <summary>The backend's name, e.g. "CPU" or "CUDA0".</summary>
    public string Name { get; }

    public bool IsGpu { get; }

    public int Threads { get; }

    public int MaxGraphNodes { get; }

    /// <summary>Where persistent tensors (weights, gradients, optimizer moments) live.</summary>
    internal SafeGgmlBackendHandle Primary { get; }

    /// <summary>Allocates every tensor of <paramref name="context"/> in one buffer on the primary device, zero-filled.</summary>
    internal SafeGgmlBufferHandle Allocate(SafeGgmlContextHandle context)
    {
        IntPtr buft = GgmlTensorNative.ggml_backend_get_default_buffer_type(Primary.DangerousGetHandle());
        IntPtr buffer = GgmlTensorNative.ggml_backend_alloc_ctx_tensors_from_buft(context.DangerousGetHandle(), buft);
        if (buffer == IntPtr.Zero) throw new LlamaException($"{Name}: could not allocate a buffer for the model's tensors");
        GgmlTensorNative.ggml_backend_buffer_clear(buffer, 0);
        return new SafeGgmlBufferHandle(buffer);
    }

    /// <summary>Allocates the graph's intermediate tensors, writes its inputs, and runs it.</summary>
    internal void Compute(GraphContext graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        IntPtr sched = _scheduler.DangerousGetHandle();
        if (GgmlTensorNative.ggml_graph_n_nodes(graph.Graph) > MaxGraphNodes)
            throw new InvalidOperationException($"the graph has more than {MaxGraphNodes} nodes");
        GgmlTensorNative.ggml_backend_sched_reset(sched);
        if (!GgmlTensorNative.ggml_backend_sched_alloc_graph(sched, graph.Graph))
            throw new LlamaException($"{Name}: could not allocate the compute buffers of a {graph.Description} graph (lower the token budget per batch)");
        graph.WriteInputs();
        var status = GgmlTensorNative.ggml_backend_sched_graph_compute(sched, graph.Graph);
        if (status != GgmlStatus.Success) throw new LlamaException($"{Name}: computing a {graph.Description} graph failed ({status})");
    }

    private static SafeGgmlBackendHandle Init(IntPtr device, string what)
    {
        IntPtr backend = GgmlTensorNative.ggml_backend_dev_init(device, null);
        if (backend == IntPtr.Zero) throw new LlamaException($"could not start the {what} backend: {LlamaBackend.TakeError() ?? "see the log"}");
        return new SafeGgmlBackendHandle(backend);
    }

    // The CPU backend's own functions are not exported; its registry hands this one out by name.
    private static void SetThreads(IntPtr cpuDevice, SafeGgmlBackendHandle cpu, int threads)
    {
        IntPtr reg = GgmlTensorNative.ggml_backend_dev_backend_reg(cpuDevice);
        var setThreads = (delegate* unmanaged[Cdecl]<IntPtr, int, void>)GgmlTensorNative.ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
        if (setThreads == null) throw new LlamaException("the CPU backend does not offer ggml_backend_set_n_threads");
        setThreads(cpu.DangerousGetHandle(), threads);
    }

    public void Dispose()
    {
        _scheduler.Dispose();
        _gpu?.Dispose();
        _cpu.Dispose();
    }
}
