using System.Text;
using Flywheel.Parquet.IO;

namespace Flywheel.Parquet.Thrift;

/// <summary>Writes the Thrift compact protocol. Each struct keeps its own last field id, passed by reference.</summary>
internal readonly struct CompactWriter(ByteBuffer buffer)
{
    public void FieldHeader(ref short lastId, short id, byte type)
    {
        int delta = id - lastId;
        if (delta is > 0 and <= 15)
        {
            buffer.WriteByte((byte)((delta << 4) | type));
        }
        else
        {
            buffer.WriteByte(type);
            buffer.WriteUleb(ZigZag(id));
        }

        lastId = id;
    }

    public void Stop() => buffer.WriteByte(CompactType.Stop);

    public void I32(ref short lastId, short id, int value)
    {
        FieldHeader(ref lastId, id, CompactType.I32);
        buffer.WriteUleb(ZigZag(value));
    }

    public void I64(ref short lastId, short id, long value)
    {
        FieldHeader(ref lastId, id, CompactType.I64);
        buffer.WriteUleb(ZigZag(value));
    }

    public void Bool(ref short lastId, short id, bool value) =>
        FieldHeader(ref lastId, id, value ? CompactType.True : CompactType.False);

    public void Binary(ref short lastId, short id, ReadOnlySpan<byte> value)
    {
        FieldHeader(ref lastId, id, CompactType.Binary);
        RawBinary(value);
    }

    public void String(ref short lastId, short id, string value)
    {
        FieldHeader(ref lastId, id, CompactType.Binary);
        RawBinary(Encoding.UTF8.GetBytes(value));
    }

    public void RawBinary(ReadOnlySpan<byte> value)
    {
        buffer.WriteUleb((uint)value.Length);
        buffer.Write(value);
    }

    public void RawI32(int value) => buffer.WriteUleb(ZigZag(value));

    public void RawByte(byte value) => buffer.WriteByte(value);

    public void ListHeader(ref short lastId, short id, byte elementType, int count)
    {
        FieldHeader(ref lastId, id, CompactType.List);
        if (count < 15)
        {
            buffer.WriteByte((byte)((count << 4) | elementType));
        }
        else
        {
            buffer.WriteByte((byte)(0xF0 | elementType));
            buffer.WriteUleb((uint)count);
        }
    }

    private static ulong ZigZag(long v) => (ulong)((v << 1) ^ (v >> 63));
}
