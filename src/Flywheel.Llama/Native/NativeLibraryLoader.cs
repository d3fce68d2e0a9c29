using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Flywheel.Llama.Native;

/// <summary>
/// Resolves the "llama", "ggml" and "ggml-base" library names of this assembly's P/Invokes to the files the build
/// placed beside the binaries (CPU), or in their cuda/ folder (CUDA). The choice is made once, at the first native call.
/// </summary>
internal static partial class NativeLibraryLoader
{
    private static readonly Dictionary<string, (string Cpu, string Cuda)> FileNames = new()
    {
        [LlamaNative.Library] = ("libllama.v0.5.0.so", "libllama.cuda.v0.5.0.so"),
        [GgmlNative.Library] = ("libggml.v0.5.0.so", "libggml.cuda.v0.5.0.so"),
        [GgmlNative.BaseLibrary] = ("libggml-base.so", "libggml-base.so"),
    };

    private static readonly Lock Gate = new();
    private static string? _directory;
    private static bool _cuda;

    // A module initializer so that no P/Invoke of this assembly can run before the resolver is in place.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() => NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);

    /// <summary>The folder the libraries were loaded from, once chosen.</summary>
    internal static string? Directory => _directory;

    internal static bool IsCuda => _cuda;

    /// <summary>Chooses where the libraries come from. Later calls must agree with the first: a process loads one set.</summary>
    internal static void Choose(ComputeDevice device, string? baseDirectory)
    {
        lock (Gate)
        {
            string root = baseDirectory ?? Environment.GetEnvironmentVariable("FLYWHEEL_NATIVE_DIR") ?? AppContext.BaseDirectory;
            string cudaDir = Path.Combine(root, "cuda");
            bool haveCuda = File.Exists(Path.Combine(cudaDir, "libggml-cuda.so"));
            bool cuda = device switch
            {
                ComputeDevice.Cuda when !haveCuda => throw new LlamaException(
                    $"CUDA libraries not found in {cudaDir}; build with -p:FlywheelCuda=true to fetch @node-llama-cpp/linux-x64-cuda."),
                ComputeDevice.Cuda => true,
                ComputeDevice.Cpu => false,
                _ => haveCuda,
            };
            string dir = cuda ? cudaDir : root;
            if (_directory is not null)
            {
                if (_directory != dir)
                    throw new LlamaException($"llama.cpp is already loaded from {_directory}; one process cannot switch to {dir} ({device}).");
                return;
            }
            string llama = Path.Combine(dir, cuda ? FileNames[LlamaNative.Library].Cuda : FileNames[LlamaNative.Library].Cpu);
            if (!File.Exists(llama))
                throw new LlamaException($"llama.cpp native libraries not found in {dir} (no {Path.GetFileName(llama)}); build the project with 'dotnet build' so they are fetched.");
            // ggml reads this on abort: without it, it tries to attach gdb for a backtrace.
            _ = setenv("GGML_NO_BACKTRACE", "1", 1);
            _directory = dir;
            _cuda = cuda;
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (!FileNames.TryGetValue(name, out var files)) return IntPtr.Zero;
        if (_directory is null) Choose(ComputeDevice.Auto, null);
        return NativeLibrary.Load(Path.Combine(_directory!, _cuda ? files.Cuda : files.Cpu));
    }

    // Environment.SetEnvironmentVariable does not reach the native environment on Unix.
    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}
