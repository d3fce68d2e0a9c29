using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Flywheel.Llama;

namespace Flywheel.Training.Native;

/// <summary>
/// Resolves the trainer's ggml library names to the files LLamaSharp loaded llama.cpp from (the CPU variant it chose
/// for this processor, or its CUDA build), so the process holds one ggml and one backend registry.
/// </summary>
internal static class GgmlLibrary
{
    internal const string Base = "ggml-base";
    internal const string Registry = "ggml";

    // A module initializer so that no P/Invoke of this assembly can run before the resolver is in place.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() => NativeLibrary.SetDllImportResolver(typeof(GgmlLibrary).Assembly, Resolve);

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) => name switch
    {
        Base or Registry => NativeLibrary.Load(Path.Combine(LlamaBackend.NativeLibraryDirectory, $"lib{name}.so")),
        _ => IntPtr.Zero,
    };
}
