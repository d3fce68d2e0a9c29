using System.Runtime.InteropServices;
using Flywheel.Llama;
using TorchSharp;

namespace Flywheel.Training.Torch;

/// <summary>TorchSharp could not start (its native libraries did not load, or no CUDA device was found when asked for).</summary>
public sealed class TrainingBackendException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Loads LibTorch once per process and picks the device: OpenMP told not to spin-wait (torch's threads otherwise
/// starve every other thread of a busy machine), and when loading fails, the loader's own reason in one line instead
/// of TorchSharp's "package is not restored".
/// </summary>
internal static class TorchRuntime
{
    private static readonly Lazy<Exception?> Loaded = new(Load);

    /// <summary>The device <paramref name="device"/> asks for: CUDA when asked for (or Auto and available), else the CPU.</summary>
    internal static torch.Device Resolve(ComputeDevice device)
    {
        EnsureLoaded();
        bool cuda = torch.cuda.is_available();
        if (device == ComputeDevice.Cuda && !cuda)
            throw new TrainingBackendException("training on CUDA was asked for, but TorchSharp finds no CUDA device (the CPU build is used unless Flywheel is built with -p:FlywheelCuda=true)");
        return device != ComputeDevice.Cpu && cuda ? torch.CUDA : torch.CPU;
    }

    /// <summary>Sets torch's intra-op thread count (process-wide, as torch keeps it).</summary>
    internal static void SetThreads(int threads)
    {
        EnsureLoaded();
        if (torch.get_num_threads() != threads) torch.set_num_threads(threads);
    }

    internal static void EnsureLoaded()
    {
        if (Loaded.Value is { } e) throw new TrainingBackendException($"TorchSharp cannot start: {Reason(e, AppContext.BaseDirectory)}", e);
    }

    private static Exception? Load()
    {
        // Read by LibTorch's OpenMP when it loads; a user's own setting wins.
        LlamaBackend.SetNativeEnvironment("OMP_WAIT_POLICY", "PASSIVE", overwrite: false);
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            return null;
        }
        catch (Exception e) when (e is NotSupportedException or DllNotFoundException or TypeInitializationException or InvalidOperationException)
        {
            return e;
        }
    }

    // The dynamic loader's message for the first library that fails names the real cause (a missing GLIBCXX version,
    // a missing file); TorchSharp's own message blames the package restore.
    internal static string Reason(Exception e, string directory)
    {
        foreach (string name in new[] { "libtorch.so", "libLibTorchSharp.so" })
        {
            string path = Path.Combine(directory, name);
            if (!File.Exists(path)) return $"{path} is missing (is the LibTorch package referenced?)";
            try
            {
                NativeLibrary.Free(NativeLibrary.Load(path));
            }
            catch (DllNotFoundException d)
            {
                return d.Message.ReplaceLineEndings(" ");
            }
        }
        return e.Message.ReplaceLineEndings(" ");
    }
}
