using System.Runtime.InteropServices;

namespace Flywheel.Parquet.Compression;

/// <summary>P/Invoke for the system's libzstd (one-shot compression and decompression with reusable contexts).</summary>
internal static partial class ZstdNative
{
    private const string Library = "libzstd.so.1";

    [LibraryImport(Library)]
    internal static partial ZstdCompressContext ZSTD_createCCtx();

    [LibraryImport(Library)]
    internal static partial nuint ZSTD_freeCCtx(IntPtr cctx);

    [LibraryImport(Library)]
    internal static partial ZstdDecompressContext ZSTD_createDCtx();

    [LibraryImport(Library)]
    internal static partial nuint ZSTD_freeDCtx(IntPtr dctx);

    [LibraryImport(Library)]
    internal static unsafe partial nuint ZSTD_compressCCtx(ZstdCompressContext cctx, byte* dst, nuint dstCapacity, byte* src, nuint srcSize, int compressionLevel);

    [LibraryImport(Library)]
    internal static unsafe partial nuint ZSTD_decompressDCtx(ZstdDecompressContext dctx, byte* dst, nuint dstCapacity, byte* src, nuint srcSize);

    [LibraryImport(Library)]
    internal static partial nuint ZSTD_compressBound(nuint srcSize);

    [LibraryImport(Library)]
    internal static partial uint ZSTD_isError(nuint code);

    [LibraryImport(Library)]
    internal static partial IntPtr ZSTD_getErrorName(nuint code);

    internal static string ErrorName(nuint code) => Marshal.PtrToStringUTF8(ZSTD_getErrorName(code)) ?? "unknown zstd error";
}

/// <summary>Owns a ZSTD_CCtx, freed exactly once even if the owner forgets to dispose it.</summary>
internal sealed class ZstdCompressContext : SafeHandle
{
    public ZstdCompressContext()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        ZstdNative.ZSTD_freeCCtx(handle);
        return true;
    }
}

/// <summary>Owns a ZSTD_DCtx.</summary>
internal sealed class ZstdDecompressContext : SafeHandle
{
    public ZstdDecompressContext()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        ZstdNative.ZSTD_freeDCtx(handle);
        return true;
    }
}
