using Flywheel.Parquet.IO;

namespace Flywheel.Parquet.Encodings;

/// <summary>Decoders for DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY.</summary>
internal static class Delta
{
    /// <summary>Decodes <c>output.Length</c> integers (wrapping as the encoding does); returns the bytes consumed.</summary>
    public static int DecodeBinaryPacked(ReadOnlySpan<byte> data, Span<long> output, out int totalCount)
    {
        int pos = 0;
        int blockSize = (int)RleHybrid.ReadUleb(data, ref pos);
        int miniBlocks = (int)RleHybrid.ReadUleb(data, ref pos);
        totalCount = (int)RleHybrid.ReadUleb(data, ref pos);
        long value = ZigZag(ReadUleb64(data, ref pos));
        if (blockSize <= 0 || blockSize > 32768 || blockSize % 128 != 0 || miniBlocks <= 0 || blockSize % miniBlocks != 0 || (blockSize / miniBlocks) % 32 != 0)
        {
            throw new InvalidDataException($"DELTA_BINARY_PACKED block of {blockSize} values in {miniBlocks} miniblocks is invalid");
        }

        if (totalCount < output.Length)
        {
            throw new InvalidDataException($"DELTA_BINARY_PACKED holds {totalCount} values, the page needs {output.Length}");
        }

        int perMini = blockSize / miniBlocks;
        Span<int> widths = miniBlocks <= 256 ? stackalloc int[miniBlocks] : new int[miniBlocks];
        long[] mini = new long[perMini];
        int filled = 0;
        if (output.Length > 0)
        {
            output[filled++] = value;
        }

        // Blocks are read while values are still wanted; the last block's padding is never touched.
        int remaining = totalCount - 1;
        while (remaining > 0)
        {
            long minDelta = ZigZag(ReadUleb64(data, ref pos));
            if (pos + miniBlocks > data.Length)
            {
                throw new InvalidDataException("DELTA_BINARY_PACKED block header is cut off");
            }

            for (int m = 0; m < miniBlocks; m++)
            {
                widths[m] = data[pos++];
                if (widths[m] > 64)
                {
                    throw new InvalidDataException($"DELTA_BINARY_PACKED bit width {widths[m]} is out of range");
                }
            }

            for (int m = 0; m < miniBlocks && remaining > 0; m++)
            {
                int bytes = perMini * widths[m] / 8;
                if (pos + bytes > data.Length)
                {
                    throw new InvalidDataException("DELTA_BINARY_PACKED miniblock is cut off");
                }

                Unpack64(data.Slice(pos, bytes), widths[m], mini);
                pos += bytes;
                int take = Math.Min(perMini, remaining);
                for (int k = 0; k < take; k++)
                {
                    value = unchecked(value + minDelta + mini[k]);
                    if (filled < output.Length)
                    {
                        output[filled++] = value;
                    }
                }

                remaining -= take;
            }
        }

        return pos;
    }

    /// <summary>Decodes DELTA_LENGTH_BYTE_ARRAY: the lengths, then the concatenated bytes.</summary>
    public static void DecodeLengthByteArray(ReadOnlySpan<byte> data, int count, Action<int, int> onValue, out int consumed)
    {
        long[] lengths = new long[count];
        int pos = DecodeBinaryPacked(data, lengths, out _);
        for (int i = 0; i < count; i++)
        {
            long len = lengths[i];
            if (len < 0 || len > data.Length - pos)
            {
                throw new InvalidDataException($"byte array length {len} is out of range");
            }

            onValue(pos, (int)len);
            pos += (int)len;
        }

        consumed = pos;
    }

    /// <summary>Decodes DELTA_BYTE_ARRAY: prefix lengths, then suffixes as DELTA_LENGTH_BYTE_ARRAY.</summary>
    public static void DecodeByteArray(ReadOnlySpan<byte> data, int count, ByteBuffer scratch, SpanAction onValue)
    {
        long[] prefixes = new long[count];
        int pos = DecodeBinaryPacked(data, prefixes, out _);
        var suffixData = data[pos..];
        long[] lengths = new long[count];
        int p = DecodeBinaryPacked(suffixData, lengths, out _);
        scratch.Clear();
        using var current = new ByteBuffer();
        for (int i = 0; i < count; i++)
        {
            long prefix = prefixes[i], len = lengths[i];
            if (prefix < 0 || prefix > scratch.Length || len < 0 || len > suffixData.Length - p)
            {
                throw new InvalidDataException($"DELTA_BYTE_ARRAY prefix {prefix} or suffix length {len} is out of range");
            }

            current.Clear();
            current.Write(scratch.Span[..(int)prefix]);
            current.Write(suffixData.Slice(p, (int)len));
            p += (int)len;
            onValue(current.Span);
            scratch.Clear();
            scratch.Write(current.Span);
        }
    }

    public delegate void SpanAction(ReadOnlySpan<byte> value);

    private static void Unpack64(ReadOnlySpan<byte> data, int bitWidth, long[] output)
    {
        if (bitWidth == 0)
        {
            Array.Clear(output);
            return;
        }

        long bit = 0;
        for (int i = 0; i < output.Length; i++)
        {
            ulong v = 0;
            for (int got = 0; got < bitWidth;)
            {
                int byteIndex = (int)(bit >> 3), shift = (int)(bit & 7);
                int take = Math.Min(8 - shift, bitWidth - got);
                ulong bits = (ulong)((data[byteIndex] >> shift) & ((1 << take) - 1));
                v |= bits << got;
                got += take;
                bit += take;
            }

            output[i] = (long)v;
        }
    }

    private static ulong ReadUleb64(ReadOnlySpan<byte> data, ref int pos)
    {
        ulong result = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (pos >= data.Length)
            {
                throw new InvalidDataException("varint is cut off");
            }

            byte b = data[pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw new InvalidDataException("varint is too long");
    }

    private static long ZigZag(ulong v) => (long)(v >> 1) ^ -(long)(v & 1);
}
