using System.Collections;
using Flywheel.Parquet.IO;

namespace Flywheel.Parquet.Serialization;

/// <summary>
/// Shreds values of one field into its leaf columns (Dremel): <paramref name="rep"/> is the repetition level of the
/// entry, <paramref name="def"/> the definition level reached by the field's parent.
/// </summary>
internal abstract class Shredder<T>(ParquetField field)
{
    public ParquetField Field { get; } = field;

    /// <summary>The definition level of this field's value when present.</summary>
    protected int Defined(int def) => Field.Repetition == Repetition.Optional ? def + 1 : def;

    public abstract void Write(T value, int rep, int def);

    /// <summary>Records that the field is absent (it, or a parent, is null, or a list above is empty).</summary>
    public abstract void WriteNull(int rep, int def);

    protected void Missing(int rep, int def)
    {
        if (Field.Repetition != Repetition.Optional)
        {
            throw new ArgumentException($"Column '{Field.Path}' is required, but the value is null.");
        }

        WriteNull(rep, def);
    }
}

internal abstract class LeafShredder<T>(ParquetField field, ColumnBuffer column) : Shredder<T>(field)
{
    protected ColumnBuffer Column { get; } = column;

    public override void WriteNull(int rep, int def) => Column.AddNull(rep, def);
}

/// <summary>A non-nullable value type: always present.</summary>
internal sealed class ValueLeaf<T>(ParquetField field, ColumnBuffer column) : LeafShredder<T>(field, column)
    where T : struct
{
    private readonly IColumnSink<T> _sink = (IColumnSink<T>)column;

    public override void Write(T value, int rep, int def) => _sink.Add(rep, value);
}

internal sealed class NullableLeaf<T>(ParquetField field, ColumnBuffer column) : LeafShredder<T?>(field, column)
    where T : struct
{
    private readonly IColumnSink<T> _sink = (IColumnSink<T>)column;

    public override void Write(T? value, int rep, int def)
    {
        if (value is { } v)
        {
            _sink.Add(rep, v);
        }
        else
        {
            Missing(rep, def);
        }
    }
}

/// <summary>string and byte[].</summary>
internal sealed class ReferenceLeaf<T>(ParquetField field, ColumnBuffer column) : LeafShredder<T?>(field, column)
    where T : class
{
    private readonly IColumnSink<T> _sink = (IColumnSink<T>)column;

    public override void Write(T? value, int rep, int def)
    {
        if (value is null)
        {
            Missing(rep, def);
        }
        else
        {
            _sink.Add(rep, value);
        }
    }
}

/// <summary>A struct's field, read from its owner through a compiled getter.</summary>
internal abstract class Member<TOwner>
{
    public abstract void Write(TOwner owner, int rep, int def);

    public abstract void WriteNull(int rep, int def);
}

internal sealed class Member<TOwner, TValue>(Func<TOwner, TValue> get, Shredder<TValue> shredder) : Member<TOwner>
{
    public override void Write(TOwner owner, int rep, int def) => shredder.Write(get(owner), rep, def);

    public override void WriteNull(int rep, int def) => shredder.WriteNull(rep, def);
}

internal sealed class StructShredder<T>(ParquetField field, Member<T>[] members) : Shredder<T?>(field)
    where T : class
{
    public override void Write(T? value, int rep, int def)
    {
        if (value is null)
        {
            Missing(rep, def);
            return;
        }

        int d = Defined(def);
        foreach (var m in members)
        {
            m.Write(value, rep, d);
        }
    }

    public override void WriteNull(int rep, int def)
    {
        foreach (var m in members)
        {
            m.WriteNull(rep, def);
        }
    }
}

/// <summary>A list in the three-level layout: the field, its repeated group, the element.</summary>
internal sealed class ListShredder<TList, TElement>(ParquetField field, Shredder<TElement> element) : Shredder<TList?>(field)
    where TList : class, IEnumerable<TElement>
{
    private readonly int _repeatedLevel = field.Children[0].MaxRepetitionLevel;

    public override void Write(TList? value, int rep, int def)
    {
        if (value is null)
        {
            Missing(rep, def);
            return;
        }

        int d = Defined(def);
        bool first = true;
        foreach (var item in value)
        {
            element.Write(item, first ? rep : _repeatedLevel, d + 1);
            first = false;
        }

        if (first)
        {
            element.WriteNull(rep, d);
        }
    }

    public override void WriteNull(int rep, int def) => element.WriteNull(rep, def);
}

/// <summary>The root: a record's top-level fields.</summary>
internal sealed class RowShredder<T>(Member<T>[] members)
{
    public void Write(T row)
    {
        foreach (var m in members)
        {
            m.Write(row, 0, 0);
        }
    }

    /// <summary>Shreds rows given as dictionaries of field names to values, for any schema.</summary>
    public static RowShredder<IReadOnlyDictionary<string, object?>> ForDictionaries(ParquetWriter writer) =>
        new([.. writer.Schema.Fields.Select(f => DynamicMember(f, writer))]);

    private static Member<IReadOnlyDictionary<string, object?>> DynamicMember(ParquetField field, ParquetWriter writer) =>
        new Member<IReadOnlyDictionary<string, object?>, object?>(d => d.TryGetValue(field.Name, out var v) ? v : null, Dynamic(field, writer));

    private static Shredder<object?> Dynamic(ParquetField field, ParquetWriter writer)
    {
        if (field.IsLeaf)
        {
            return new DynamicLeaf(field, writer.Column(field.ColumnIndex));
        }

        if (TypeSchema.IsStandardList(field))
        {
            return new DynamicList(field, Dynamic(field.Children[0].Children[0], writer));
        }

        var members = field.Children.Select(c => DynamicMember(c, writer)).ToArray();
        return new DynamicStruct(field, new StructShredder<IReadOnlyDictionary<string, object?>>(field, members));
    }

    private sealed class DynamicLeaf(ParquetField field, ColumnBuffer column) : LeafShredder<object?>(field, column)
    {
        public override void Write(object? value, int rep, int def)
        {
            if (value is null)
            {
                Missing(rep, def);
                return;
            }

            try
            {
                switch (Column)
                {
                    case ByteArrayColumnBuffer bytes when value is string s:
                        bytes.Add(rep, s);
                        break;
                    case ByteArrayColumnBuffer bytes when value is byte[] b:
                        bytes.Add(rep, b);
                        break;
                    case BooleanColumnBuffer b:
                        b.Add(rep, (bool)value);
                        break;
                    case NumberColumnBuffer<int> n:
                        n.Add(rep, Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture));
                        break;
                    case NumberColumnBuffer<long> n:
                        n.Add(rep, Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                        break;
                    case NumberColumnBuffer<float> n:
                        n.Add(rep, Convert.ToSingle(value, System.Globalization.CultureInfo.InvariantCulture));
                        break;
                    case NumberColumnBuffer<double> n:
                        n.Add(rep, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture));
                        break;
                    default:
                        throw new InvalidCastException();
                }
            }
            catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException)
            {
                throw new ArgumentException($"Column '{Field.Path}' ({Field.PhysicalType}) cannot hold a {value.GetType().Name}.", e);
            }
        }
    }

    private sealed class DynamicStruct(ParquetField field, StructShredder<IReadOnlyDictionary<string, object?>> inner) : Shredder<object?>(field)
    {
        public override void Write(object? value, int rep, int def) =>
            inner.Write(value is null or IReadOnlyDictionary<string, object?> ? (IReadOnlyDictionary<string, object?>?)value
                : throw new ArgumentException($"Column '{Field.Path}' is a struct: give it a dictionary, not a {value.GetType().Name}."), rep, def);

        public override void WriteNull(int rep, int def) => inner.WriteNull(rep, def);
    }

    private sealed class DynamicList(ParquetField field, Shredder<object?> element) : Shredder<object?>(field)
    {
        private readonly ListShredder<IEnumerable<object?>, object?> _inner = new(field, element);

        public override void Write(object? value, int rep, int def) =>
            _inner.Write(value switch
            {
                null => null,
                IEnumerable e and not string and not IReadOnlyDictionary<string, object?> => e.Cast<object?>(),
                _ => throw new ArgumentException($"Column '{Field.Path}' is a list: give it an enumerable, not a {value.GetType().Name}."),
            }, rep, def);

        public override void WriteNull(int rep, int def) => _inner.WriteNull(rep, def);
    }
}
