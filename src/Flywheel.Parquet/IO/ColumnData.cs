using Flywheel.Parquet.Encodings;
using Flywheel.Parquet.Thrift;

namespace Flywheel.Parquet.IO;

/// <summary>A growable array that hands out the next <c>n</c> slots as a span.</summary>
internal struct Growable<T>
{
    private T[] _items;

    public Growable(int capacity) => _items = new T[Math.Max(capacity, 16)];

    public int Count { get; private set; }

    public readonly T[] Items => _items;

    public Span<T> Append(int n)
    {
        if (Count + n > _items.Length)
        {
            Array.Resize(ref _items, Math.Max(checked(Count + n), _items.Length * 2));
        }

        var span = _items.AsSpan(Count, n);
        Count += n;
        return span;
    }

    /// <summary>Empties it, keeping the array: the next row group reuses what the last one grew.</summary>
    public void Clear() => Count = 0;

    /// <summary>Drops the items from <paramref name="count"/> on (those a failed row appended).</summary>
    public void Truncate(int count) => Count = count;
}

/// <summary>One column chunk, decoded: its levels and its non-null values, with a cursor for assembling rows.</summary>
internal abstract class ColumnData(ParquetField leaf, long fileOffset)
{
    public ParquetField Leaf { get; } = leaf;

    public long FileOffset { get; } = fileOffset;

    public Growable<int> Definition = new(16);

    public Growable<int> Repetition = new(16);

    public int LevelPosition;

    public int ValuePosition;

    public abstract int ValueCount { get; }

    public int CurrentDefinition => LevelPosition < Definition.Count ? Definition.Items[LevelPosition] : throw Corrupt("levels run out before the row does");

    public int CurrentRepetition => LevelPosition < Repetition.Count ? Repetition.Items[LevelPosition] : throw Corrupt("levels run out before the row does");

    public bool HasMoreLevels => LevelPosition < Definition.Count;

    /// <summary>Moves past one level entry, returning its value (boxed and converted to its logical type) or null.</summary>
    public object? Next()
    {
        int def = CurrentDefinition;
        LevelPosition++;
        if (def != Leaf.MaxDefinitionLevel)
        {
            return null;
        }

        if (ValuePosition >= ValueCount)
        {
            throw Corrupt("values run out before the levels do");
        }

        return Box(ValuePosition++);
    }

    public ParquetFormatException Corrupt(string reason) => new(reason, Leaf.Path, FileOffset);

    public abstract void LoadDictionary(ReadOnlySpan<byte> data, int count);

    /// <summary>Decodes <paramref name="count"/> values onto the end; returns the bytes consumed.</summary>
    public abstract int AppendValues(ColumnEncoding encoding, ReadOnlySpan<byte> data, int count);

    protected abstract object? Box(int index);
}

internal sealed class ColumnData<T>(ParquetField leaf, long fileOffset, ValueDecoder<T> decoder, Func<T, object?> box) : ColumnData(leaf, fileOffset)
{
    public Growable<T> Values = new(16);

    public override int ValueCount => Values.Count;

    public override void LoadDictionary(ReadOnlySpan<byte> data, int count) => decoder.LoadDictionary(data, count);

    public override int AppendValues(ColumnEncoding encoding, ReadOnlySpan<byte> data, int count) =>
        decoder.Decode(encoding, data, Values.Append(count));

    protected override object? Box(int index) => box(Values.Items[index]);
}
