using System.Buffers.Binary;
using Flywheel.Parquet.IO;

namespace Flywheel.Parquet.Encodings;

/// <summary>The RLE / bit-packed hybrid encoding of levels, dictionary indices and RLE booleans.</summary>
internal static class RleHybrid
{
    /// <summary>Decodes exactly <c>output.Length</c> values; returns the bytes consumed.</summary>
    public static int Decode(ReadOnlySpan<byte> data, int bitWidth, Span<int> output)
    {
        if (bitWidth is < 0 or > 32)
        {
            throw new InvalidDataException($"RLE bit width {bitWidth} is out of range");
        }

        int pos = 0, filled = 0;
        int byteWidth = (bitWidth + 7) / 8;
        while (filled < output.Length)
        {
            if (pos >= data.Length)
            {
                throw new InvalidDataException($"RLE data ends after {filled} of {output.Length} values");
            }

            uint header = ReadUleb(data, ref pos);
            if ((header & 1) == 0)
            {
                int count = (int)Math.Min(header >> 1, (uint)(output.Length - filled));
                if (pos + byteWidth > data.Length)
                {
                    throw new InvalidDataException("RLE run value is cut off");
                }

                int value = 0;
                for (int i = 0; i < byteWidth; i++)
                {
                    value |= data[pos + i] << (8 * i);
                }

                pos += byteWidth;
                output.Slice(filled, count).Fill(value);
                filled += count;
            }
            else
            {
                long groups = header >> 1;
                long bytes = groups * bitWidth;

                // Writers may cut the last bit-packed run short of its declared groups: take what is there.
                int available = (int)Math.Min(bytes, data.Length - pos);
                long valuesInRun = bitWidth == 0 ? groups * 8 : (long)available * 8 / bitWidth;
                int count = (int)Math.Min(Math.Min(valuesInRun, groups * 8), output.Length - filled);
                if (count == 0 && groups > 0 && bitWidth > 0)
                {
                    throw new InvalidDataException("bit-packed run is cut off");
                }

                BitUnpack(data.Slice(pos, available), bitWidth, output.Slice(filled, count));
                filled += count;
                pos += available;
            }
        }

        return pos;
    }

    /// <summary>Unpacks little-endian bit-packed values (LSB first).</summary>
    public static void BitUnpack(ReadOnlySpan<byte> data, int bitWidth, Span<int> output)
    {
        if (bitWidth == 0)
        {
            output.Clear();
            return;
        }

        ulong mask = bitWidth == 32 ? uint.MaxValue : (1UL << bitWidth) - 1;
        long bit = 0;
        for (int i = 0; i < output.Length; i++, bit += bitWidth)
        {
            int byteIndex = (int)(bit >> 3);
            int shift = (int)(bit & 7);
            ulong window = byteIndex + 8 <= data.Length
                ? BinaryPrimitives.ReadUInt64LittleEndian(data[byteIndex..])
                : ReadPartial(data, byteIndex);
            output[i] = (int)((window >> shift) & mask);
        }
    }

    /// <summary>Decodes the deprecated BIT_PACKED level encoding (most significant bit first).</summary>
    public static int DecodeBitPackedMsb(ReadOnlySpan<byte> data, int bitWidth, Span<int> output)
    {
        long bytes = ((long)output.Length * bitWidth + 7) / 8;
        if (bytes > data.Length)
        {
            throw new InvalidDataException("BIT_PACKED levels are cut off");
        }

        long bit = 0;
        for (int i = 0; i < output.Length; i++)
        {
            int v = 0;
            for (int b = 0; b < bitWidth; b++, bit++)
            {
                v = (v << 1) | ((data[(int)(bit >> 3)] >> (7 - (int)(bit & 7))) & 1);
            }

            output[i] = v;
        }

        return (int)bytes;
    }

    /// <summary>
    /// Encodes values as runs of repeats (eight or more) and bit-packed groups of eight in between;
    /// the last group is padded with zeros, which readers ignore since they know the value count.
    /// </summary>
    public static void Encode(ReadOnlySpan<int> values, int bitWidth, ByteBuffer output)
    {
        int byteWidth = (bitWidth + 7) / 8;
        int i = 0;
        while (i < values.Length)
        {
            int run = RunLength(values, i, int.MaxValue);
            if (run >= 8)
            {
                output.WriteUleb((ulong)run << 1);
                int v = values[i];
                for (int b = 0; b < byteWidth; b++)
                {
                    output.WriteByte((byte)(v >> (8 * b)));
                }

                i += run;
                continue;
            }

            int start = i, groups = 0;
            while (i < values.Length && groups < 63 && (groups == 0 || RunLength(values, i, 8) < 8))
            {
                i += 8;
                groups++;
            }

            i = Math.Min(i, values.Length);
            output.WriteUleb(((ulong)groups << 1) | 1);
            BitPack(values[start..i], bitWidth, output.GetSpan(groups * bitWidth));
            output.Advance(groups * bitWidth);
        }
    }

    public static int BitWidth(int maxValue) => maxValue == 0 ? 0 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)maxValue);

    /// <summary>Packs values LSB first into <paramref name="output"/>, which is zero-filled up to its length.</summary>
    public static void BitPack(ReadOnlySpan<int> values, int bitWidth, Span<byte> output)
    {
        output.Clear();
        ulong acc = 0;
        int bits = 0, pos = 0;
        foreach (int v in values)
        {
            acc |= (ulong)(uint)v << bits;
            bits += bitWidth;
            while (bits >= 8)
            {
                output[pos++] = (byte)acc;
                acc >>= 8;
                bits -= 8;
            }
        }

        if (bits > 0)
        {
            output[pos] = (byte)acc;
        }
    }

    internal static uint ReadUleb(ReadOnlySpan<byte> data, ref int pos)
    {
        uint result = 0;
        for (int shift = 0; shift < 35; shift += 7)
        {
            if (pos >= data.Length)
            {
                throw new InvalidDataException("varint is cut off");
            }

            byte b = data[pos++];
            result |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw new InvalidDataException("varint is too long");
    }

    private static int RunLength(ReadOnlySpan<int> values, int start, int limit)
    {
        int v = values[start], n = 1;
        while (start + n < values.Length && values[start + n] == v && n < limit)
        {
            n++;
        }

        return n;
    }

    private static ulong ReadPartial(ReadOnlySpan<byte> data, int byteIndex)
    {
        ulong w = 0;
        for (int k = 0; byteIndex + k < data.Length && k < 8; k++)
        {
            w |= (ulong)data[byteIndex + k] << (8 * k);
        }

        return w;
    }
}
