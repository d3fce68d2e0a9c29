using System.Runtime.InteropServices;

namespace Flywheel.Llama.Native;

/// <summary>P/Invoke for ggml's backend registry (libggml) and the core tensor library (libggml-base).</summary>
internal static unsafe partial class GgmlNative
{
    internal const string Library = "ggml";
    internal const string BaseLibrary = "ggml-base";

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial void ggml_backend_load_all_from_path(string dirPath);
    [LibraryImport(Library)] internal static partial nuint ggml_backend_dev_count();
    [LibraryImport(Library)] internal static partial IntPtr ggml_backend_dev_get(nuint index);
    [LibraryImport(Library)] internal static partial IntPtr ggml_backend_dev_by_type(GgmlBackendDeviceType type);

    [LibraryImport(BaseLibrary)] internal static partial byte* ggml_backend_dev_name(IntPtr device);
    [LibraryImport(BaseLibrary)] internal static partial byte* ggml_backend_dev_description(IntPtr device);
    [LibraryImport(BaseLibrary)] internal static partial GgmlBackendDeviceType ggml_backend_dev_type(IntPtr device);
    [LibraryImport(BaseLibrary)] internal static partial void ggml_backend_dev_memory(IntPtr device, out nuint free, out nuint total);
}
