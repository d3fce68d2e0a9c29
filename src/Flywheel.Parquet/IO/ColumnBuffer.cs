using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using Flywheel.Parquet.Compression;
using Flywheel.Parquet.Encodings;
using Flywheel.Parquet.Thrift;

namespace Flywheel.Parquet.IO;

/// <summary>The writer's settings that column chunks need.</summary>
internal sealed record ChunkSettings(ParquetCompression Codec, int Level, bool Dictionary, int DictionaryLimit, int PageSize);

/// <summary>An encoded column chunk: its pages, ready to be written, and its metadata with offsets relative to its start.</summary>
internal sealed record EncodedChunk(ByteBuffer Bytes, ColumnMetaData Meta, bool HasDictionary);

/// <summary>Accepts the values of one .NET type into a column.</summary>
internal interface IColumnSink<in T>
{
    void Add(int rep, T value);
}

/// <summary>
/// One leaf column's share of the row group being built: its levels and values, shredded from records, then encoded
/// into pages when the row group is flushed.
/// </summary>
internal abstract class ColumnBuffer(ParquetField leaf, ChunkSettings settings)
{
    private Growable<int> _def = new(1024);
    private Growable<int> _rep = new(1024);

    // Where the row being shredded began, to take it back out if it fails half-way.
    private int _rowLevels;
    private int _rowValues;
    private int _rowDistinct;

    public ParquetField Leaf { get; } = leaf;

    protected ChunkSettings Settings { get; } = settings;

    public int LevelCount { get; private set; }

    public abstract int ValueCount { get; }

    /// <summary>What the buffered data will take uncompressed, to cut row groups by size.</summary>
    public long BufferedBytes => ValueBytes + (LevelCount * 2L);

    protected abstract long ValueBytes { get; }

    /// <summary>Records an absent value: a null at definition level <paramref name="def"/>, or an empty or null list above.</summary>
    public void AddNull(int rep, int def)
    {
        _def.Append(1)[0] = def;
        _rep.Append(1)[0] = rep;
        LevelCount++;
    }

    /// <summary>
    /// Hands the buffered row group to <paramref name="other"/>, an emptied buffer of the same column, and takes its
    /// arrays in exchange: shredding goes on here while the other is encoded.
    /// </summary>
    public void SwapInto(ColumnBuffer other)
    {
        (_def, other._def) = (other._def, _def);
        (_rep, other._rep) = (other._rep, _rep);
        (LevelCount, other.LevelCount) = (other.LevelCount, LevelCount);
        SwapValues(other);
    }

    /// <summary>Marks the start of a row, which <see cref="RollBackRow"/> returns to.</summary>
    public void BeginRow()
    {
        _rowLevels = LevelCount;
        _rowValues = ValueCount;
        _rowDistinct = DictionarySize;
    }

    /// <summary>Drops what the current row appended: its levels, values and new dictionary entries.</summary>
    public void RollBackRow()
    {
        _def.Truncate(_rowLevels);
        _rep.Truncate(_rowLevels);
        LevelCount = _rowLevels;
        TruncateValues(_rowValues, _rowDistinct);
    }

    public void Reset()
    {
        _def.Clear();
        _rep.Clear();
        LevelCount = 0;
        ResetValues();
    }

    /// <summary>Encodes the buffered data as a column chunk: a dictionary page where it pays, then data pages.</summary>
    public EncodedChunk Encode()
    {
        var output = new ByteBuffer(Math.Max(1024, (int)Math.Min(BufferedBytes / 2, 1 << 26)));
        // Sized by what is buffered, not by the page size: most chunks are far smaller than a page (the buffers grow if not).
        int pageCapacity = (int)Math.Min(Settings.PageSize, BufferedBytes) + 1024;
        using var page = new ByteBuffer(pageCapacity);
        using var compressed = new ByteBuffer(pageCapacity);
        var meta = new ColumnMetaData
        {
            Type = Leaf.PhysicalType!.Value,
            PathInSchema = [.. Leaf.PathParts],
            Codec = Settings.Codec,
            NumValues = LevelCount,
        };
        long uncompressedTotal = 0;
        bool dictionary = HasDictionary;
        if (dictionary)
        {
            meta.DictionaryPageOffset = 0;
            page.Clear();
            WriteDictionary(page);
            uncompressedTotal += WritePage(output, page, compressed, new PageHeader { Type = PageType.DictionaryPage, NumValues = DictionarySize, Encoding = ColumnEncoding.Plain });
            meta.Encodings = [ColumnEncoding.Plain, ColumnEncoding.Rle, ColumnEncoding.RleDictionary];
        }
        else
        {
            meta.Encodings = [ColumnEncoding.Plain, ColumnEncoding.Rle];
        }

        meta.DataPageOffset = output.Length;
        var def = _def.Items.AsSpan(0, LevelCount);
        var rep = _rep.Items.AsSpan(0, LevelCount);
        int maxDef = Leaf.MaxDefinitionLevel;
        int level = 0, value = 0;
        do
        {
            // A page ends at a row boundary once its values reach the page size.
            int startLevel = level, startValue = value;
            long bytes = 0;
            while (level < LevelCount && (bytes < Settings.PageSize || (rep.Length > 0 && Leaf.MaxRepetitionLevel > 0 && rep[level] != 0)))
            {
                if (def[level] == maxDef)
                {
                    bytes += ValueSize(value);
                    value++;
                }

                level++;
            }

            page.Clear();
            if (Leaf.MaxRepetitionLevel > 0)
            {
                WriteLevels(page, rep[startLevel..level], Leaf.MaxRepetitionLevel);
            }

            if (maxDef > 0)
            {
                WriteLevels(page, def[startLevel..level], maxDef);
            }

            WriteValues(page, startValue, value, dictionary);
            uncompressedTotal += WritePage(output, page, compressed, new PageHeader
            {
                Type = PageType.DataPage,
                NumValues = level - startLevel,
                Encoding = dictionary ? ColumnEncoding.RleDictionary : ColumnEncoding.Plain,
            });
        }
        while (level < LevelCount);

        meta.TotalCompressedSize = output.Length;
        meta.TotalUncompressedSize = uncompressedTotal;
        meta.Statistics = Statistics(LevelCount - ValueCount);
        return new EncodedChunk(output, meta, dictionary);
    }

    protected abstract bool HasDictionary { get; }

    protected abstract int DictionarySize { get; }

    protected abstract void ResetValues();

    protected abstract void SwapValues(ColumnBuffer other);

    /// <summary>Keeps the first <paramref name="values"/> values and <paramref name="distinct"/> dictionary entries.</summary>
    protected abstract void TruncateValues(int values, int distinct);

    protected abstract long ValueSize(int index);

    protected abstract void WriteDictionary(ByteBuffer page);

    /// <summary>Writes values [from, to) as PLAIN, or as dictionary indices.</summary>
    protected abstract void WriteValues(ByteBuffer page, int from, int to, bool dictionary);

    protected abstract Statistics Statistics(long nullCount);

    protected static void WriteIndices(ByteBuffer page, ReadOnlySpan<int> indices, int dictionarySize)
    {
        int width = RleHybrid.BitWidth(Math.Max(dictionarySize - 1, 0));
        page.WriteByte((byte)width);
        RleHybrid.Encode(indices, width, page);
    }

    private static void WriteLevels(ByteBuffer page, ReadOnlySpan<int> levels, int max)
    {
        int start = page.Length;
        page.WriteInt32(0);
        RleHybrid.Encode(levels, RleHybrid.BitWidth(max), page);
        BinaryPrimitives.WriteInt32LittleEndian(page.Span[start..], page.Length - start - 4);
    }

    /// <summary>Compresses a page body and appends header and body; returns the uncompressed size with header.</summary>
    private int WritePage(ByteBuffer output, ByteBuffer body, ByteBuffer compressed, PageHeader header)
    {
        compressed.Clear();
        Codecs.Compress(Settings.Codec, body.Span, compressed, Settings.Level);
        header.UncompressedPageSize = body.Length;
        header.CompressedPageSize = compressed.Length;
        int start = output.Length;
        header.Write(new CompactWriter(output));
        int headerSize = output.Length - start;
        output.Write(compressed.Span);
        return headerSize + body.Length;
    }

    protected void AddLevels(int rep)
    {
        _def.Append(1)[0] = Leaf.MaxDefinitionLevel;
        _rep.Append(1)[0] = rep;
        LevelCount++;
    }
}

/// <summary>BOOLEAN: bit-packed PLAIN, no dictionary.</summary>
internal sealed class BooleanColumnBuffer(ParquetField leaf, ChunkSettings settings) : ColumnBuffer(leaf, settings), IColumnSink<bool>
{
    private Growable<bool> _values = new(1024);

    public override int ValueCount => _values.Count;

    protected override long ValueBytes => _values.Count / 8;

    protected override bool HasDictionary => false;

    protected override int DictionarySize => 0;

    public void Add(int rep, bool value)
    {
        AddLevels(rep);
        _values.Append(1)[0] = value;
    }

    protected override void ResetValues() => _values.Clear();

    protected override void TruncateValues(int values, int distinct) => _values.Truncate(values);

    protected override void SwapValues(ColumnBuffer other)
    {
        var o = (BooleanColumnBuffer)other;
        (_values, o._values) = (o._values, _values);
    }

    protected override long ValueSize(int index) => 1;

    protected override void WriteDictionary(ByteBuffer page) => throw new InvalidOperationException();

    protected override void WriteValues(ByteBuffer page, int from, int to, bool dictionary)
    {
        var span = page.GetSpan((to - from + 7) / 8);
        span.Clear();
        for (int i = from; i < to; i++)
        {
            if (_values.Items[i])
            {
                span[(i - from) >> 3] |= (byte)(1 << ((i - from) & 7));
            }
        }

        page.Advance(span.Length);
    }

    protected override Statistics Statistics(long nullCount)
    {
        var values = _values.Items.AsSpan(0, _values.Count);
        var stats = new Statistics { NullCount = nullCount };
        if (values.Length > 0)
        {
            stats.MinValue = [values.Contains(false) ? (byte)0 : (byte)1];
            stats.MaxValue = [values.Contains(true) ? (byte)1 : (byte)0];
        }

        return stats;
    }
}

/// <summary>INT32, INT64, FLOAT, DOUBLE: PLAIN little-endian, or dictionary indices while the distinct values stay few.</summary>
internal sealed class NumberColumnBuffer<T>(ParquetField leaf, ChunkSettings settings) : ColumnBuffer(leaf, settings), IColumnSink<T>
    where T : unmanaged, INumber<T>
{
    private static readonly int Size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
    private Growable<T> _values = new(1024);
    private Growable<int> _indices = new(1024);
    private Dictionary<T, int>? _dictionary = settings.Dictionary ? [] : null;
    private Growable<T> _distinct = new(16);

    public override int ValueCount => _values.Count;

    protected override long ValueBytes => (long)_values.Count * Size;

    protected override bool HasDictionary => _dictionary is not null && _distinct.Count > 0;

    protected override int DictionarySize => _distinct.Count;

    public void Add(int rep, T value)
    {
        AddLevels(rep);
        _values.Append(1)[0] = value;
        if (_dictionary is not null)
        {
            ref int slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_dictionary, value, out bool exists);
            if (!exists)
            {
                slot = _distinct.Count;
                _distinct.Append(1)[0] = value;

                // Past the limit a dictionary no longer pays: the chunk is written PLAIN.
                if ((long)_distinct.Count * Size > Settings.DictionaryLimit)
                {
                    _dictionary = null;
                    _distinct = new Growable<T>(16);
                    _indices = new Growable<int>(16);
                    return;
                }
            }

            _indices.Append(1)[0] = slot;
        }
    }

    protected override void ResetValues()
    {
        _values.Clear();
        _indices.Clear();
        _distinct.Clear();
        if (_dictionary is not null)
        {
            _dictionary.Clear();
        }
        else if (Settings.Dictionary)
        {
            _dictionary = [];
        }
    }

    protected override void TruncateValues(int values, int distinct)
    {
        _values.Truncate(values);

        // A fallback to PLAIN that the row caused stays: the chunk is written correctly either way.
        if (_dictionary is not null)
        {
            _indices.Truncate(values);
            foreach (var v in _distinct.Items.AsSpan(distinct, _distinct.Count - distinct))
            {
                _dictionary.Remove(v);
            }

            _distinct.Truncate(distinct);
        }
    }

    protected override void SwapValues(ColumnBuffer other)
    {
        var o = (NumberColumnBuffer<T>)other;
        (_values, o._values) = (o._values, _values);
        (_indices, o._indices) = (o._indices, _indices);
        (_dictionary, o._dictionary) = (o._dictionary, _dictionary);
        (_distinct, o._distinct) = (o._distinct, _distinct);
    }

    protected override long ValueSize(int index) => Size;

    protected override void WriteDictionary(ByteBuffer page) => page.Write(MemoryMarshal.AsBytes(_distinct.Items.AsSpan(0, _distinct.Count)));

    protected override void WriteValues(ByteBuffer page, int from, int to, bool dictionary)
    {
        if (dictionary)
        {
            WriteIndices(page, _indices.Items.AsSpan(from, to - from), _distinct.Count);
        }
        else
        {
            page.Write(MemoryMarshal.AsBytes(_values.Items.AsSpan(from, to - from)));
        }
    }

    protected override Statistics Statistics(long nullCount)
    {
        var values = HasDictionary ? _distinct.Items.AsSpan(0, _distinct.Count) : _values.Items.AsSpan(0, _values.Count);
        var stats = new Statistics { NullCount = nullCount };
        bool any = false;
        T min = default, max = default;
        foreach (var v in values)
        {
            if (T.IsNaN(v))
            {
                continue;
            }

            if (!any)
            {
                min = max = v;
                any = true;
            }
            else if (v < min)
            {
                min = v;
            }
            else if (v > max)
            {
                max = v;
            }
        }

        if (any)
        {
            // Zeros are signed in float statistics: -0 for a min, +0 for a max, as the specification asks.
            if (T.IsZero(min))
            {
                min = typeof(T) == typeof(double) || typeof(T) == typeof(float) ? -T.Zero : min;
            }

            if (T.IsZero(max))
            {
                max = T.Zero;
            }

            stats.MinValue = MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in min)).ToArray();
            stats.MaxValue = MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in max)).ToArray();
        }

        return stats;
    }
}

/// <summary>
/// BYTE_ARRAY (strings as UTF-8, and binary): values are kept PLAIN-encoded as they arrive, and a hash table over
/// their bytes builds the dictionary alongside until it grows past the limit.
/// </summary>
internal sealed class ByteArrayColumnBuffer(ParquetField leaf, ChunkSettings settings) : ColumnBuffer(leaf, settings), IColumnSink<string>, IColumnSink<byte[]>, IDisposable
{
    private ByteBuffer _plain = new(1 << 16);
    private Growable<int> _ends = new(1024);
    private Growable<int> _indices = new(1024);
    private ByteBuffer? _dictData = settings.Dictionary ? new ByteBuffer(1 << 12) : null;
    private Growable<int> _dictEnds = new(16);
    private int[] _slots = settings.Dictionary ? NewSlots(1024) : [];

    public override int ValueCount => _ends.Count;

    protected override long ValueBytes => _plain.Length;

    protected override bool HasDictionary => _dictData is not null && _dictEnds.Count > 0;

    protected override int DictionarySize => _dictEnds.Count;

    public void Add(int rep, string value)
    {
        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        var span = _plain.GetSpan(4 + max);
        int n = Encoding.UTF8.GetBytes(value, span[4..]);
        Commit(rep, span, n);
    }

    public void Add(int rep, byte[] value) => Add(rep, value.AsSpan());

    public void Add(int rep, ReadOnlySpan<byte> value)
    {
        var span = _plain.GetSpan(4 + value.Length);
        value.CopyTo(span[4..]);
        Commit(rep, span, value.Length);
    }

    public void Dispose()
    {
        _plain.Dispose();
        _dictData?.Dispose();
    }

    protected override void ResetValues()
    {
        _plain.Clear();
        _ends.Clear();
        _indices.Clear();
        _dictEnds.Clear();
        if (_dictData is not null)
        {
            _dictData.Clear();
            _slots.AsSpan().Fill(-1);
        }
        else if (Settings.Dictionary)
        {
            _dictData = new ByteBuffer(1 << 12);
            _slots = NewSlots(1024);
        }
    }

    protected override void TruncateValues(int values, int distinct)
    {
        _plain.Truncate(Start(_ends, values));
        _ends.Truncate(values);

        // A fallback to PLAIN that the row caused stays: the chunk is written correctly either way.
        if (_dictData is not null)
        {
            _indices.Truncate(values);
            if (_dictEnds.Count > distinct)
            {
                _dictData.Truncate(Start(_dictEnds, distinct));
                _dictEnds.Truncate(distinct);

                // Open addressing cannot drop entries in place: the table is rebuilt, which only a failed row pays for.
                Rehash(_slots.Length);
            }
        }
    }

    protected override void SwapValues(ColumnBuffer other)
    {
        var o = (ByteArrayColumnBuffer)other;
        (_plain, o._plain) = (o._plain, _plain);
        (_ends, o._ends) = (o._ends, _ends);
        (_indices, o._indices) = (o._indices, _indices);
        (_dictData, o._dictData) = (o._dictData, _dictData);
        (_dictEnds, o._dictEnds) = (o._dictEnds, _dictEnds);
        (_slots, o._slots) = (o._slots, _slots);
    }

    protected override long ValueSize(int index) => End(_ends, index) - Start(_ends, index);

    protected override void WriteDictionary(ByteBuffer page) => page.Write(_dictData!.Span);

    protected override void WriteValues(ByteBuffer page, int from, int to, bool dictionary)
    {
        if (dictionary)
        {
            WriteIndices(page, _indices.Items.AsSpan(from, to - from), _dictEnds.Count);
        }
        else if (to > from)
        {
            page.Write(_plain.Span[Start(_ends, from)..End(_ends, to - 1)]);
        }
    }

    protected override Statistics Statistics(long nullCount)
    {
        var data = HasDictionary ? _dictData!.Span : _plain.Span;
        var ends = HasDictionary ? _dictEnds : _ends;
        var stats = new Statistics { NullCount = nullCount };
        if (ends.Count == 0)
        {
            return stats;
        }

        int minIndex = 0, maxIndex = 0;
        for (int i = 1; i < ends.Count; i++)
        {
            var v = Value(data, ends, i);
            if (v.SequenceCompareTo(Value(data, ends, minIndex)) < 0)
            {
                minIndex = i;
            }
            else if (v.SequenceCompareTo(Value(data, ends, maxIndex)) > 0)
            {
                maxIndex = i;
            }
        }

        stats.MinValue = Value(data, ends, minIndex).ToArray();
        stats.MaxValue = Value(data, ends, maxIndex).ToArray();
        return stats;
    }

    private static int Start(Growable<int> ends, int i) => i == 0 ? 0 : ends.Items[i - 1];

    private static int End(Growable<int> ends, int i) => ends.Items[i];

    /// <summary>The bytes of value <paramref name="i"/>, without its length prefix.</summary>
    private static ReadOnlySpan<byte> Value(ReadOnlySpan<byte> data, Growable<int> ends, int i) => data[(Start(ends, i) + 4)..End(ends, i)];

    private static int[] NewSlots(int n)
    {
        var slots = new int[n];
        slots.AsSpan().Fill(-1);
        return slots;
    }

    private void Commit(int rep, Span<byte> span, int length)
    {
        BinaryPrimitives.WriteInt32LittleEndian(span, length);
        _plain.Advance(4 + length);
        _ends.Append(1)[0] = _plain.Length;
        AddLevels(rep);
        if (_dictData is not null)
        {
            AddToDictionary(span.Slice(4, length));
        }
    }

    private void AddToDictionary(ReadOnlySpan<byte> value)
    {
        var hash = new HashCode();
        hash.AddBytes(value);
        int mask = _slots.Length - 1;
        int slot = hash.ToHashCode() & mask;
        while (true)
        {
            int entry = _slots[slot];
            if (entry < 0)
            {
                break;
            }

            if (Value(_dictData!.Span, _dictEnds, entry).SequenceEqual(value))
            {
                _indices.Append(1)[0] = entry;
                return;
            }

            slot = (slot + 1) & mask;
        }

        int index = _dictEnds.Count;
        var bytes = _dictData!.GetSpan(4 + value.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value.Length);
        value.CopyTo(bytes[4..]);
        _dictData.Advance(4 + value.Length);
        _dictEnds.Append(1)[0] = _dictData.Length;
        _indices.Append(1)[0] = index;
        _slots[slot] = index;

        // Past the limit a dictionary no longer pays: the chunk is written PLAIN.
        if (_dictData.Length > Settings.DictionaryLimit)
        {
            _dictData.Dispose();
            _dictData = null;
            _dictEnds = new Growable<int>(16);
            _indices = new Growable<int>(16);
            _slots = [];
        }
        else if (_dictEnds.Count * 2 > _slots.Length)
        {
            Rehash(_slots.Length * 2);
        }
    }

    private void Rehash(int size)
    {
        _slots = NewSlots(size);
        int mask = _slots.Length - 1;
        for (int i = 0; i < _dictEnds.Count; i++)
        {
            var hash = new HashCode();
            hash.AddBytes(Value(_dictData!.Span, _dictEnds, i));
            int slot = hash.ToHashCode() & mask;
            while (_slots[slot] >= 0)
            {
                slot = (slot + 1) & mask;
            }

            _slots[slot] = i;
        }
    }
}
