using System.Buffers;
using System.Buffers.Binary;

namespace Flywheel.Parquet.IO;

/// <summary>A growable byte buffer on pooled arrays: the writer's pages and values are built in these and reused.</summary>
internal sealed class ByteBuffer : IDisposable
{
    private byte[] _array;

    public ByteBuffer(int capacity = 256) => _array = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 16));

    public int Length { get; private set; }

    public Span<byte> Span => _array.AsSpan(0, Length);

    public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, Length);

    public byte[] Array => _array;

    public void Clear() => Length = 0;

    public void Truncate(int length) => Length = length;

    /// <summary>Returns room for <paramref name="size"/> more bytes at the end; <see cref="Advance"/> commits them.</summary>
    public Span<byte> GetSpan(int size)
    {
        Ensure(size);
        return _array.AsSpan(Length, size);
    }

    public void Advance(int count) => Length += count;

    public void WriteByte(byte b)
    {
        Ensure(1);
        _array[Length++] = b;
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_array.AsSpan(Length));
        Length += bytes.Length;
    }

    public void WriteInt32(int v)
    {
        Ensure(4);
        BinaryPrimitives.WriteInt32LittleEndian(_array.AsSpan(Length), v);
        Length += 4;
    }

    public void WriteInt64(long v)
    {
        Ensure(8);
        BinaryPrimitives.WriteInt64LittleEndian(_array.AsSpan(Length), v);
        Length += 8;
    }

    public void WriteUleb(ulong v)
    {
        Ensure(10);
        while (v >= 0x80)
        {
            _array[Length++] = (byte)(v | 0x80);
            v >>= 7;
        }

        _array[Length++] = (byte)v;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_array);
        _array = [];
        Length = 0;
    }

    private void Ensure(int size)
    {
        if (Length + size > _array.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(checked(Length + size), _array.Length * 2));
            _array.AsSpan(0, Length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_array);
            _array = bigger;
        }
    }
}
