using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Flywheel.Parquet.IO;
using Flywheel.Parquet.Thrift;

namespace Flywheel.Parquet.Encodings;

/// <summary>Converts a stored byte array (BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY, INT96) to its .NET value.</summary>
internal delegate T BytesConverter<T>(ReadOnlySpan<byte> bytes);

/// <summary>
/// Decodes the values of one physical type from every value encoding the reader supports. One instance per column
/// chunk: it also holds that chunk's dictionary.
/// </summary>
internal abstract class ValueDecoder<T>
{
    private T[]? _dictionary;

    /// <summary>Decodes <c>output.Length</c> values; returns the bytes consumed.</summary>
    public int Decode(ColumnEncoding encoding, ReadOnlySpan<byte> data, Span<T> output)
    {
        switch (encoding)
        {
            case ColumnEncoding.Plain:
                return DecodePlain(data, output);
            case ColumnEncoding.PlainDictionary or ColumnEncoding.RleDictionary:
                return DecodeDictionary(data, output);
            case ColumnEncoding.DeltaBinaryPacked:
            case ColumnEncoding.DeltaLengthByteArray:
            case ColumnEncoding.DeltaByteArray:
            case ColumnEncoding.ByteStreamSplit:
            case ColumnEncoding.Rle:
                return DecodeOther(encoding, data, output);
            default:
                throw new InvalidDataException($"encoding {encoding} is not supported");
        }
    }

    public void LoadDictionary(ReadOnlySpan<byte> data, int count)
    {
        var values = new T[count];
        DecodePlain(data, values);
        _dictionary = values;
    }

    protected abstract int DecodePlain(ReadOnlySpan<byte> data, Span<T> output);

    protected virtual int DecodeOther(ColumnEncoding encoding, ReadOnlySpan<byte> data, Span<T> output) =>
        throw new InvalidDataException($"encoding {encoding} is not valid for {typeof(T).Name} values");

    private int DecodeDictionary(ReadOnlySpan<byte> data, Span<T> output)
    {
        var dict = _dictionary ?? throw new InvalidDataException("dictionary-encoded page without a dictionary page");
        if (output.Length == 0)
        {
            return 0;
        }

        if (data.Length == 0)
        {
            throw new InvalidDataException("dictionary indices are missing");
        }

        int[] indices = new int[output.Length];
        int used = 1 + RleHybrid.Decode(data[1..], data[0], indices);
        for (int i = 0; i < indices.Length; i++)
        {
            int index = indices[i];
            if ((uint)index >= (uint)dict.Length)
            {
                throw new InvalidDataException($"dictionary index {index} is outside the dictionary of {dict.Length}");
            }

            output[i] = dict[index];
        }

        return used;
    }
}

internal sealed class BooleanDecoder : ValueDecoder<bool>
{
    protected override int DecodePlain(ReadOnlySpan<byte> data, Span<bool> output)
    {
        int bytes = (output.Length + 7) / 8;
        Check(data, bytes);
        for (int i = 0; i < output.Length; i++)
        {
            output[i] = ((data[i >> 3] >> (i & 7)) & 1) != 0;
        }

        return bytes;
    }

    protected override int DecodeOther(ColumnEncoding encoding, ReadOnlySpan<byte> data, Span<bool> output)
    {
        if (encoding != ColumnEncoding.Rle)
        {
            return base.DecodeOther(encoding, data, output);
        }

        // RLE booleans carry a 4-byte length before the hybrid runs, as v1 levels do.
        Check(data, 4);
        int length = BinaryPrimitives.ReadInt32LittleEndian(data);
        if (length < 0 || length > data.Length - 4)
        {
            throw new InvalidDataException($"RLE boolean length {length} is out of range");
        }

        int[] values = new int[output.Length];
        RleHybrid.Decode(data.Slice(4, length), 1, values);
        for (int i = 0; i < values.Length; i++)
        {
            output[i] = values[i] != 0;
        }

        return 4 + length;
    }

    internal static void Check(ReadOnlySpan<byte> data, long needed)
    {
        if (needed > data.Length)
        {
            throw new InvalidDataException($"values need {needed} bytes, the page holds {data.Length}");
        }
    }
}

/// <summary>INT32, INT64, FLOAT and DOUBLE: fixed-width little-endian numbers.</summary>
internal sealed class NumberDecoder<T> : ValueDecoder<T>
    where T : unmanaged
{
    private static readonly int Size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();

    protected override int DecodePlain(ReadOnlySpan<byte> data, Span<T> output)
    {
        long bytes = (long)output.Length * Size;
        BooleanDecoder.Check(data, bytes);
        MemoryMarshal.Cast<byte, T>(data[..(int)bytes]).CopyTo(output);
        return (int)bytes;
    }

    protected override int DecodeOther(ColumnEncoding encoding, ReadOnlySpan<byte> data, Span<T> output)
    {
        if (encoding == ColumnEncoding.ByteStreamSplit)
        {
            long bytes = (long)output.Length * Size;
            BooleanDecoder.Check(data, bytes);
            var dest = MemoryMarshal.AsBytes(output);
            int n = output.Length;

            // BYTE_STREAM_SPLIT stores byte k of every value in stream k; the page's values fill the whole section.
            int streamLength = data.Length / Size;
            if (streamLength < n)
            {
                throw new InvalidDataException("BYTE_STREAM_SPLIT streams are shorter than the value count");
            }

            for (int k = 0; k < Size; k++)
            {
                var stream = data.Slice(k * streamLength, n);
                for (int i = 0; i < n; i++)
                {
                    dest[(i * Size) + k] = stream[i];
                }
            }

            return data.Length;
        }

        if (encoding == ColumnEncoding.DeltaBinaryPacked && (typeof(T) == typeof(int) || typeof(T) == typeof(long)))
        {
            long[] values = new long[output.Length];
            int used = Delta.DecodeBinaryPacked(data, values, out _);
            for (int i = 0; i < values.Length; i++)
            {
                output[i] = typeof(T) == typeof(int) ? (T)(object)unchecked((int)values[i]) : (T)(object)values[i];
            }

            return used;
        }

        return base.DecodeOther(encoding, data, output);
    }
}

/// <summary>BYTE_ARRAY: length-prefixed byte strings, converted to strings or byte arrays.</summary>
internal sealed class ByteArrayDecoder<T>(BytesConverter<T> convert) : ValueDecoder<T>
{
    protected override int DecodePlain(ReadOnlySpan<byte> data, Span<T> output)
    {
        int pos = 0;
        for (int i = 0; i < output.Length; i++)
        {
            BooleanDecoder.Check(data, pos + 4L);
            int len = BinaryPrimitives.ReadInt32LittleEndian(data[pos..]);
            pos += 4;
            if (len < 0 || len > data.Length - pos)
            {
                throw new InvalidDataException($"byte array length {len} is out of range");
            }

            output[i] = convert(data.Slice(pos, len));
            pos += len;
        }

        return pos;
    }

    protected override int DecodeOther(ColumnEncoding encoding, ReadOnlySpan<byte> data, Span<T> output)
    {
        var values = new T[output.Length];
        int n = 0;
        switch (encoding)
        {
            case ColumnEncoding.DeltaLengthByteArray:
                {
                    var copy = data.ToArray();
                    Delta.DecodeLengthByteArray(data, output.Length, (offset, length) => values[n++] = convert(copy.AsSpan(offset, length)), out int used);
                    values.CopyTo(output);
                    return used;
                }

            case ColumnEncoding.DeltaByteArray:
                {
                    using var scratch = new ByteBuffer();
                    Delta.DecodeByteArray(data, output.Length, scratch, v => values[n++] = convert(v));
                    values.CopyTo(output);
                    return data.Length;
                }

            default:
                return base.DecodeOther(encoding, data, output);
        }
    }
}

/// <summary>FIXED_LEN_BYTE_ARRAY and INT96: values of a fixed number of bytes.</summary>
internal sealed class FixedDecoder<T>(int length, BytesConverter<T> convert) : ValueDecoder<T>
{
    protected override int DecodePlain(ReadOnlySpan<byte> data, Span<T> output)
    {
        long bytes = (long)output.Length * length;
        BooleanDecoder.Check(data, bytes);
        for (int i = 0; i < output.Length; i++)
        {
            output[i] = convert(data.Slice(i * length, length));
        }

        return (int)bytes;
    }

    protected override int DecodeOther(ColumnEncoding encoding, ReadOnlySpan<byte> data, Span<T> output)
    {
        if (encoding == ColumnEncoding.ByteStreamSplit)
        {
            int n = output.Length;
            int streamLength = data.Length / length;
            if (streamLength < n)
            {
                throw new InvalidDataException("BYTE_STREAM_SPLIT streams are shorter than the value count");
            }

            var value = new byte[length];
            for (int i = 0; i < n; i++)
            {
                for (int k = 0; k < length; k++)
                {
                    value[k] = data[(k * streamLength) + i];
                }

                output[i] = convert(value);
            }

            return data.Length;
        }

        if (encoding == ColumnEncoding.DeltaByteArray)
        {
            var values = new T[output.Length];
            int n = 0;
            using var scratch = new ByteBuffer();
            Delta.DecodeByteArray(data, output.Length, scratch, v => values[n++] = convert(v));
            values.CopyTo(output);
            return data.Length;
        }

        return base.DecodeOther(encoding, data, output);
    }
}
