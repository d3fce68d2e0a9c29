using System.Runtime.InteropServices;
using Flywheel.Llama.Native;

namespace Flywheel.Llama;

/// <summary>Options for <see cref="LlamaBackend.Initialize"/>.</summary>
public sealed record BackendOptions
{
    public ComputeDevice Device { get; init; } = ComputeDevice.Auto;

    /// <summary>The folder holding the native libraries; default: beside the application (or FLYWHEEL_NATIVE_DIR).</summary>
    public string? LibraryDirectory { get; init; }

    /// <summary>Receives llama.cpp's and ggml's warnings and errors; default: dropped (they are kept for exception messages).</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>A compute device ggml found.</summary>
public sealed record BackendDevice(string Name, string Description, bool IsGpu, long FreeMemory, long TotalMemory);

/// <summary>One-time process-wide setup of llama.cpp and ggml: which libraries, which backends, where logs go.</summary>
public static unsafe class LlamaBackend
{
    private static readonly Lock Gate = new();
    private static bool _initialized;
    private static Action<string>? _log;

    [ThreadStatic] private static string? _firstError;
    [ThreadStatic] private static System.Text.StringBuilder? _pending;

    /// <summary>Initializes the backend once; later calls with the same device are no-ops.</summary>
    public static void Initialize(BackendOptions? options = null)
    {
        options ??= new BackendOptions();
        lock (Gate)
        {
            NativeLibraryLoader.Choose(options.Device, options.LibraryDirectory);
            _log = options.Log ?? _log;
            if (_initialized) return;
            LlamaNative.llama_log_set(&OnLog, IntPtr.Zero);
            GgmlNative.ggml_backend_load_all_from_path(NativeLibraryLoader.Directory!);
            LlamaNative.llama_backend_init();
            _initialized = true;
            if (options.Device == ComputeDevice.Cuda && !Devices.Any(d => d.IsGpu))
                throw new LlamaException("--device cuda was asked for, but ggml found no CUDA GPU (is the NVIDIA driver and CUDA 13 runtime installed?).");
        }
    }

    internal static void EnsureInitialized()
    {
        if (!Volatile.Read(ref _initialized)) Initialize();
    }

    /// <summary>True when the libraries in use are the CUDA build and a GPU was found.</summary>
    public static bool IsGpuAvailable
    {
        get
        {
            EnsureInitialized();
            return NativeLibraryLoader.IsCuda && Devices.Any(d => d.IsGpu);
        }
    }

    /// <summary>The devices ggml registered, GPUs first when present.</summary>
    public static IReadOnlyList<BackendDevice> Devices
    {
        get
        {
            EnsureInitialized();
            var list = new List<BackendDevice>();
            for (nuint i = 0; i < GgmlNative.ggml_backend_dev_count(); i++)
            {
                IntPtr dev = GgmlNative.ggml_backend_dev_get(i);
                GgmlNative.ggml_backend_dev_memory(dev, out nuint free, out nuint total);
                var type = GgmlNative.ggml_backend_dev_type(dev);
                list.Add(new BackendDevice(LlamaNative.Utf8(GgmlNative.ggml_backend_dev_name(dev)) ?? "?",
                    LlamaNative.Utf8(GgmlNative.ggml_backend_dev_description(dev)) ?? "",
                    type is GgmlBackendDeviceType.Gpu or GgmlBackendDeviceType.IntegratedGpu, (long)free, (long)total));
            }
            return list.OrderByDescending(d => d.IsGpu).ToList();
        }
    }

    /// <summary>
    /// Cores not busy right now (at least 1). ggml's threads spin-wait on each other, so taking a core another process
    /// uses can slow a run many times over: default to what is free.
    /// </summary>
    public static int DefaultThreadCount
    {
        get
        {
            int cores = Environment.ProcessorCount;
            try
            {
                // /proc/loadavg's 4th field is "running/total"; the running count includes this reader.
                string[] fields = File.ReadAllText("/proc/loadavg").Split(' ');
                int running = int.Parse(fields[3].Split('/')[0], System.Globalization.CultureInfo.InvariantCulture);
                return Math.Clamp(cores - (running - 1), 1, cores);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                return cores;
            }
        }
    }

    /// <summary>
    /// The first error llama.cpp or ggml logged on this thread since the last call, to explain a failed native call:
    /// the first names the cause ("missing tensor …"), later ones only that loading failed.
    /// </summary>
    internal static string? TakeError()
    {
        string? e = _firstError;
        _firstError = null;
        return e;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    private static void OnLog(GgmlLogLevel level, byte* text, IntPtr userData)
    {
        string s = LlamaNative.Utf8(text) ?? "";
        if (level == GgmlLogLevel.Cont)
        {
            _pending?.Append(s);
        }
        else
        {
            _pending = level >= GgmlLogLevel.Warn ? new System.Text.StringBuilder(s) : null;
        }
        if (_pending is null || !s.EndsWith('\n')) return;
        string line = _pending.ToString().Trim();
        _pending = null;
        if (level == GgmlLogLevel.Error || line.Contains("error", StringComparison.OrdinalIgnoreCase) || line.Contains("failed", StringComparison.OrdinalIgnoreCase))
            _firstError ??= line;
        _log?.Invoke(line);
    }
}
