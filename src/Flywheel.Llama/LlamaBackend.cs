using System.Runtime.CompilerServices;
using LLama.Native;

namespace Flywheel.Llama;

/// <summary>Options for <see cref="LlamaBackend.Initialize"/>.</summary>
public sealed record BackendOptions
{
    public ComputeDevice Device { get; init; } = ComputeDevice.Auto;

    /// <summary>A folder to search for llama.cpp's libraries before LLamaSharp's runtimes/ folders beside the application.</summary>
    public string? LibraryDirectory { get; init; }

    /// <summary>Receives llama.cpp's and ggml's warnings and errors; default: dropped (they are kept for exception messages).</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>A compute device ggml registered.</summary>
public sealed record BackendDevice(string Name, bool IsGpu);

/// <summary>
/// One-time process-wide setup of llama.cpp through LLamaSharp: which build of its libraries (CPU, or CUDA when the
/// CUDA backend package was built in and a GPU is asked for), and where its log goes.
/// </summary>
public static partial class LlamaBackend
{
    private static readonly Lock Gate = new();
    private static volatile StrongBox<ComputeDevice>? _device;
    private static Action<string>? _log;

    [ThreadStatic] private static string? _firstError;
    [ThreadStatic] private static System.Text.StringBuilder? _pending;
    [ThreadStatic] private static LLamaLogLevel _pendingLevel;

    /// <summary>Loads llama.cpp once; later calls must ask for the same device (a process loads one build).</summary>
    public static void Initialize(BackendOptions? options = null)
    {
        options ??= new BackendOptions();
        lock (Gate)
        {
            _log = options.Log ?? _log;
            if (_device?.Value is { } loaded)
            {
                if (options.Device != ComputeDevice.Auto && options.Device != loaded)
                    throw new LlamaException($"llama.cpp is already loaded for {loaded}; one process cannot switch to {options.Device}.");
                return;
            }
            // ggml reads this on abort: without it, it tries to attach gdb for a backtrace.
            _ = setenv("GGML_NO_BACKTRACE", "1", 1);
            var config = NativeLibraryConfig.All
                .WithCuda(options.Device != ComputeDevice.Cpu)
                .WithVulkan(false)
                .WithAutoFallback(options.Device != ComputeDevice.Cuda)
                .WithLogCallback(OnLog);
            if (options.LibraryDirectory is not null) config.WithSearchDirectory(options.LibraryDirectory);
            try
            {
                NativeApi.llama_empty_call();
            }
            catch (Exception e) when (e is DllNotFoundException or LLama.Exceptions.RuntimeError or TypeInitializationException)
            {
                throw new LlamaException($"llama.cpp's libraries could not be loaded ({Innermost(e).Message.Split('\n')[0].Trim()}); they come with the LLamaSharp.Backend.* packages: build the project with 'dotnet build'.", e);
            }
            bool cuda = NativeApi.GetLoadedNativeLibrary(NativeLibraryName.LLama)?.Metadata?.UseCuda == true;
            // The CUDA build without a GPU computes on the CPU: only a GPU ggml registered makes this a CUDA run.
            bool gpu = cuda && RegisteredDevices().Any(d => d.IsGpu);
            if (options.Device == ComputeDevice.Cuda && !gpu)
                throw new LlamaException(cuda
                    ? "--device cuda was asked for, but ggml found no CUDA GPU (are the NVIDIA driver and the CUDA 12 runtime installed?)."
                    : "--device cuda was asked for, but this build has no CUDA libraries; build with -p:FlywheelCuda=true.");
            _device = new StrongBox<ComputeDevice>(gpu ? ComputeDevice.Cuda : ComputeDevice.Cpu);
        }
    }

    internal static void EnsureInitialized()
    {
        if (_device is null) Initialize();
    }

    private static Exception Innermost(Exception e) => e.InnerException is null ? e : Innermost(e.InnerException);

    /// <summary>True when the libraries in use are the CUDA build and ggml registered a GPU.</summary>
    public static bool IsGpuAvailable
    {
        get
        {
            EnsureInitialized();
            return _device?.Value == ComputeDevice.Cuda;
        }
    }

    /// <summary>The devices ggml registered, GPUs first.</summary>
    public static IReadOnlyList<BackendDevice> Devices
    {
        get
        {
            EnsureInitialized();
            return RegisteredDevices();
        }
    }

    // Once the libraries are loaded; Initialize asks before it counts as done, so this must not initialize.
    private static List<BackendDevice> RegisteredDevices()
    {
        var list = new List<BackendDevice>();
        for (nuint i = 0; i < NativeApi.ggml_backend_dev_count(); i++)
        {
            string name = System.Runtime.InteropServices.Marshal.PtrToStringUTF8(NativeApi.ggml_backend_dev_name(NativeApi.ggml_backend_dev_get(i))) ?? "?";
            list.Add(new BackendDevice(name, name.StartsWith("CUDA", StringComparison.OrdinalIgnoreCase)));
        }
        return list.OrderByDescending(d => d.IsGpu).ToList();
    }

    /// <summary>
    /// The folder llama.cpp's libraries were loaded from (the CPU variant LLamaSharp chose for this processor); the
    /// trainer's ggml bindings load libggml-base from the same folder, so the process holds one ggml.
    /// </summary>
    internal static string NativeLibraryDirectory
    {
        get
        {
            EnsureInitialized();
            foreach (string line in File.ReadLines("/proc/self/maps"))
            {
                int at = line.IndexOf('/', StringComparison.Ordinal);
                if (at >= 0 && line.EndsWith("/libllama.so", StringComparison.Ordinal)) return Path.GetDirectoryName(line[at..])!;
            }
            throw new LlamaException("libllama.so is not mapped into this process although LLamaSharp reported it loaded");
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

    /// <summary>Receives every line llama.cpp and ggml log, info included, on the logging thread: for tests that read what llama.cpp reports (its KV buffer size).</summary>
    internal static Action<LLamaLogLevel, string>? LineListener { get; set; }

    private static void OnLog(LLamaLogLevel level, string text)
    {
        if (level != LLamaLogLevel.Continue)
        {
            _pending = new System.Text.StringBuilder();
            _pendingLevel = level;
        }
        (_pending ??= new System.Text.StringBuilder()).Append(text);
        if (!text.EndsWith('\n')) return;
        string line = _pending.ToString().Trim();
        _pending = null;
        LineListener?.Invoke(_pendingLevel, line);
        if (_pendingLevel < LLamaLogLevel.Warning) return;
        if (_pendingLevel == LLamaLogLevel.Error || line.Contains("error", StringComparison.OrdinalIgnoreCase) || line.Contains("failed", StringComparison.OrdinalIgnoreCase))
            _firstError ??= line;
        _log?.Invoke(line);
    }

    /// <summary>Sets a variable native libraries read (Environment.SetEnvironmentVariable does not reach them on Unix).</summary>
    internal static void SetNativeEnvironment(string name, string value, bool overwrite) => _ = setenv(name, value, overwrite ? 1 : 0);

    [System.Runtime.InteropServices.LibraryImport("libc", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}
