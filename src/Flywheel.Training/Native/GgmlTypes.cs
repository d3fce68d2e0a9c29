using System.Runtime.InteropServices;

namespace Flywheel.Training.Native;

/// <summary>ggml_init_params (24 bytes): a context's memory pool.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct GgmlInitParams
{
    public nuint mem_size;
    public IntPtr mem_buffer;
    public byte no_alloc;
}

/// <summary>
/// The leading fields of struct ggml_tensor, which are stable across releases: enough to check where a tensor lives and
/// its shape. Everything else about a tensor goes through functions.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct GgmlTensorHead
{
    public int type;
    public IntPtr buffer;
    public fixed long ne[4];
    public fixed ulong nb[4];
}

/// <summary>ggml_status.</summary>
internal enum GgmlStatus
{
    AllocFailed = -2,
    Failed = -1,
    Success = 0,
    Aborted = 1,
}

/// <summary>ggml_backend_dev_type.</summary>
internal enum GgmlBackendDeviceType
{
    Cpu = 0,
    Gpu = 1,
    IntegratedGpu = 2,
    Accelerator = 3,
}
