using System.Buffers.Binary;
using System.Text;

namespace Flywheel.Parquet.Thrift;

/// <summary>Wire types of the Thrift compact protocol.</summary>
internal static class CompactType
{
    public const byte Stop = 0;
    public const byte True = 1;
    public const byte False = 2;
    public const byte Byte = 3;
    public const byte I16 = 4;
    public const byte I32 = 5;
    public const byte I64 = 6;
    public const byte Double = 7;
    public const byte Binary = 8;
    public const byte List = 9;
    public const byte Set = 10;
    public const byte Map = 11;
    public const byte Struct = 12;
}

/// <summary>
/// Reads the Thrift compact protocol from a buffer that holds the whole message. Every length and count is checked
/// against the bytes left, so a corrupt message fails with the offset where it went wrong instead of allocating.
/// </summary>
internal ref struct CompactReader
{
    private const int MaxDepth = 64;
    private readonly ReadOnlySpan<byte> _data;
    private readonly long _baseOffset;
    private int _pos;
    private int _depth;

    public CompactReader(ReadOnlySpan<byte> data, long baseOffset)
    {
        _data = data;
        _baseOffset = baseOffset;
    }

    public readonly int Position => _pos;

    public readonly long FileOffset => _baseOffset + _pos;

    public readonly ParquetFormatException Error(string reason) => new(reason, null, FileOffset);

    /// <summary>Reads the next field header of a struct; false at the struct's end. <paramref name="lastId"/> is the struct's own.</summary>
    public bool NextField(ref short lastId, out short id, out byte type)
    {
        byte b = ReadByte();
        type = (byte)(b & 0x0F);
        if (type == CompactType.Stop)
        {
            id = 0;
            return false;
        }

        int delta = b >> 4;
        int wide = delta == 0 ? ZigZag32(ReadVarint32()) : lastId + delta;
        if (wide is < short.MinValue or > short.MaxValue)
        {
            throw Error($"Thrift field id {wide} is out of range");
        }

        id = (short)wide;
        lastId = id;
        return true;
    }

    public void EnterStruct()
    {
        if (++_depth > MaxDepth)
        {
            throw Error("Thrift structures are nested too deeply");
        }
    }

    public void ExitStruct() => _depth--;

    public byte ReadByte()
    {
        if (_pos >= _data.Length)
        {
            throw Error("Thrift message ends early");
        }

        return _data[_pos++];
    }

    public uint ReadVarint32()
    {
        uint result = 0;
        for (int shift = 0; shift < 35; shift += 7)
        {
            byte b = ReadByte();
            result |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw Error("Thrift varint is too long");
    }

    public ulong ReadVarint64()
    {
        ulong result = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            byte b = ReadByte();
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw Error("Thrift varint is too long");
    }

    public int ReadI32(byte type)
    {
        Expect(type, CompactType.I32, CompactType.I16, CompactType.Byte);
        return type == CompactType.Byte ? (sbyte)ReadByte() : ZigZag32(ReadVarint32());
    }

    public long ReadI64(byte type)
    {
        if (type is CompactType.I32 or CompactType.I16 or CompactType.Byte)
        {
            return ReadI32(type);
        }

        Expect(type, CompactType.I64, CompactType.I64, CompactType.I64);
        ulong v = ReadVarint64();
        return (long)(v >> 1) ^ -(long)(v & 1);
    }

    public bool ReadBool(byte type)
    {
        Expect(type, CompactType.True, CompactType.False, CompactType.False);
        return type == CompactType.True;
    }

    public double ReadDouble(byte type)
    {
        Expect(type, CompactType.Double, CompactType.Double, CompactType.Double);
        var bytes = Take(8);
        return BinaryPrimitives.ReadDoubleLittleEndian(bytes);
    }

    public ReadOnlySpan<byte> ReadBinary(byte type)
    {
        Expect(type, CompactType.Binary, CompactType.Binary, CompactType.Binary);
        return Take(ReadLength());
    }

    public string ReadString(byte type)
    {
        var bytes = ReadBinary(type);
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new ParquetFormatException("Thrift string is not valid UTF-8", null, FileOffset, e);
        }
    }

    /// <summary>Reads a list header; the count is bounded by the bytes left, since every element takes at least one.</summary>
    public int ReadListHeader(byte type, out byte elementType)
    {
        Expect(type, CompactType.List, CompactType.Set, CompactType.Set);
        byte b = ReadByte();
        elementType = (byte)(b & 0x0F);
        int count = b >> 4;
        if (count == 15)
        {
            count = ReadLength();
        }

        if (count > _data.Length - _pos)
        {
            throw Error($"Thrift list of {count} elements is longer than the {_data.Length - _pos} bytes left");
        }

        return count;
    }

    /// <summary>Reads a bool element of a list (lists carry bools as one byte each, not in the type nibble).</summary>
    public bool ReadListBool() => ReadByte() == CompactType.True;

    public void Skip(byte type)
    {
        switch (type)
        {
            case CompactType.True:
            case CompactType.False:
                break;
            case CompactType.Byte:
                ReadByte();
                break;
            case CompactType.I16:
            case CompactType.I32:
                ReadVarint32();
                break;
            case CompactType.I64:
                ReadVarint64();
                break;
            case CompactType.Double:
                Take(8);
                break;
            case CompactType.Binary:
                Take(ReadLength());
                break;
            case CompactType.List:
            case CompactType.Set:
                {
                    int n = ReadListHeader(type, out byte et);
                    EnterStruct();
                    for (int i = 0; i < n; i++)
                    {
                        SkipElement(et);
                    }

                    ExitStruct();
                    break;
                }

            case CompactType.Map:
                {
                    int n = ReadLength();
                    if (n > 0)
                    {
                        byte kv = ReadByte();
                        if (n > _data.Length - _pos)
                        {
                            throw Error("Thrift map is longer than the bytes left");
                        }

                        EnterStruct();
                        for (int i = 0; i < n; i++)
                        {
                            SkipElement((byte)(kv >> 4));
                            SkipElement((byte)(kv & 0x0F));
                        }

                        ExitStruct();
                    }

                    break;
                }

            case CompactType.Struct:
                {
                    EnterStruct();
                    short last = 0;
                    while (NextField(ref last, out _, out byte ft))
                    {
                        Skip(ft);
                    }

                    ExitStruct();
                    break;
                }

            default:
                throw Error($"unknown Thrift type {type}");
        }
    }

    private void SkipElement(byte type)
    {
        // Inside lists and maps a bool takes a byte of its own.
        if (type is CompactType.True or CompactType.False)
        {
            ReadByte();
        }
        else
        {
            Skip(type);
        }
    }

    private int ReadLength()
    {
        uint n = ReadVarint32();
        if (n > (uint)(_data.Length - _pos))
        {
            throw Error($"Thrift length {n} is longer than the {_data.Length - _pos} bytes left");
        }

        return (int)n;
    }

    private ReadOnlySpan<byte> Take(int n)
    {
        if (n > _data.Length - _pos)
        {
            throw Error("Thrift message ends early");
        }

        var s = _data.Slice(_pos, n);
        _pos += n;
        return s;
    }

    private readonly void Expect(byte actual, byte a, byte b, byte c)
    {
        if (actual != a && actual != b && actual != c)
        {
            throw Error($"Thrift field has wire type {actual}, expected {a}");
        }
    }

    private static int ZigZag32(uint v) => (int)(v >> 1) ^ -(int)(v & 1);
}
