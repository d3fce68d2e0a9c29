using System.IO.Compression;
using Flywheel.Parquet.IO;

namespace Flywheel.Parquet.Compression;

/// <summary>Page compression and decompression for every codec this library handles.</summary>
internal static class Codecs
{
    // Contexts are costly to create and not thread-safe, and each keeps the workspace of the largest page it has
    // handled: pooled, they number as many as run at once, not as many threads as ever compressed a page.
    private static readonly ContextPool<ZstdCompressContext> ZstdCompressContexts = new(CreateCompressContext);
    private static readonly ContextPool<ZstdDecompressContext> ZstdDecompressContexts = new(CreateDecompressContext);

    public static bool CanWrite(ParquetCompression codec) =>
        codec is ParquetCompression.Uncompressed or ParquetCompression.Snappy or ParquetCompression.Gzip or ParquetCompression.Zstd;

    /// <summary>Appends the compressed form of <paramref name="source"/> to <paramref name="destination"/>.</summary>
    public static void Compress(ParquetCompression codec, ReadOnlySpan<byte> source, ByteBuffer destination, int level)
    {
        switch (codec)
        {
            case ParquetCompression.Uncompressed:
                destination.Write(source);
                break;
            case ParquetCompression.Snappy:
                {
                    destination.Write(IronSnappy.Snappy.Encode(source));
                    break;
                }

            case ParquetCompression.Gzip:
                {
                    using var stream = new ByteBufferStream(destination);
                    using (var gzip = new GZipStream(stream, level <= 3 ? CompressionLevel.Fastest : CompressionLevel.Optimal, leaveOpen: true))
                    {
                        gzip.Write(source);
                    }

                    break;
                }

            case ParquetCompression.Zstd:
                ZstdCompress(source, destination, level);
                break;
            default:
                throw new NotSupportedException($"Writing {codec} is not supported.");
        }
    }

    /// <summary>
    /// Decompresses into <paramref name="destination"/>, whose length is the page's declared uncompressed size;
    /// anything but exactly that many bytes is a corrupt page.
    /// </summary>
    public static void Decompress(ParquetCompression codec, ReadOnlyMemory<byte> source, Span<byte> destination)
    {
        int written;
        switch (codec)
        {
            case ParquetCompression.Uncompressed:
                if (source.Length != destination.Length)
                {
                    throw new InvalidDataException("uncompressed page size differs from its compressed size");
                }

                source.Span.CopyTo(destination);
                return;
            case ParquetCompression.Snappy:
                {
                    // The decoder allocates what the block's preamble claims: check that claim first.
                    ulong length = SnappyPreamble(source.Span);
                    if (length != (ulong)destination.Length)
                    {
                        throw new InvalidDataException($"snappy block holds {length} bytes, the page header says {destination.Length}");
                    }

                    var decoded = IronSnappy.Snappy.Decode(source.Span);
                    decoded.CopyTo(destination);
                    written = decoded.Length;
                    break;
                }

            case ParquetCompression.Gzip:
                {
                    using var input = new ReadOnlyMemoryStream(source);
                    using var gzip = new GZipStream(input, CompressionMode.Decompress);
                    written = gzip.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false);
                    if (written == destination.Length && gzip.ReadByte() >= 0)
                    {
                        throw new InvalidDataException("gzip data is longer than the page header says");
                    }

                    break;
                }

            case ParquetCompression.Brotli:
                if (!BrotliDecoder.TryDecompress(source.Span, destination, out written))
                {
                    throw new InvalidDataException("brotli data is corrupt or longer than the page header says");
                }

                break;
            case ParquetCompression.Zstd:
                written = ZstdDecompress(source.Span, destination);
                break;
            default:
                throw new NotSupportedException($"The {codec} codec is not supported.");
        }

        if (written != destination.Length)
        {
            throw new InvalidDataException($"page decompressed to {written} bytes, the page header says {destination.Length}");
        }
    }

    private static ulong SnappyPreamble(ReadOnlySpan<byte> block)
    {
        ulong length = 0;
        for (int i = 0; i < Math.Min(block.Length, 5); i++)
        {
            length |= (ulong)(block[i] & 0x7F) << (7 * i);
            if (block[i] < 0x80)
            {
                return length;
            }
        }

        throw new InvalidDataException("snappy block has no valid length preamble");
    }

    private static unsafe void ZstdCompress(ReadOnlySpan<byte> source, ByteBuffer destination, int level)
    {
        int bound = checked((int)ZstdNative.ZSTD_compressBound((nuint)source.Length));
        var span = destination.GetSpan(bound);
        nuint n;
        var context = ZstdCompressContexts.Rent();
        try
        {
            fixed (byte* src = source)
            fixed (byte* dst = span)
            {
                n = ZstdNative.ZSTD_compressCCtx(context, dst, (nuint)span.Length, src, (nuint)source.Length, level);
            }
        }
        finally
        {
            ZstdCompressContexts.Return(context);
        }

        if (ZstdNative.ZSTD_isError(n) != 0)
        {
            throw new InvalidOperationException("zstd compression failed: " + ZstdNative.ErrorName(n));
        }

        destination.Advance((int)n);
    }

    private static unsafe int ZstdDecompress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        nuint n;
        var context = ZstdDecompressContexts.Rent();
        try
        {
            fixed (byte* src = source)
            fixed (byte* dst = destination)
            {
                n = ZstdNative.ZSTD_decompressDCtx(context, dst, (nuint)destination.Length, src, (nuint)source.Length);
            }
        }
        finally
        {
            ZstdDecompressContexts.Return(context);
        }

        if (ZstdNative.ZSTD_isError(n) != 0)
        {
            throw new InvalidDataException("zstd: " + ZstdNative.ErrorName(n));
        }

        return (int)n;
    }

    private static ZstdCompressContext CreateCompressContext()
    {
        var c = ZstdNative.ZSTD_createCCtx();
        return c.IsInvalid ? throw new InvalidOperationException("ZSTD_createCCtx failed") : c;
    }

    private static ZstdDecompressContext CreateDecompressContext()
    {
        var c = ZstdNative.ZSTD_createDCtx();
        return c.IsInvalid ? throw new InvalidOperationException("ZSTD_createDCtx failed") : c;
    }
}
