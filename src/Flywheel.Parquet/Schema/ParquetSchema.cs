using System.Text;
using Flywheel.Parquet.Thrift;

namespace Flywheel.Parquet;

/// <summary>A Parquet schema: the top-level fields, and the leaf columns in file order.</summary>
public sealed class ParquetSchema
{
    private const int MaxNesting = 64;

    public ParquetSchema(params IEnumerable<ParquetField> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        Fields = [.. fields];
        var names = new HashSet<string>();
        foreach (var f in Fields)
        {
            if (!names.Add(f.Name))
            {
                throw new ArgumentException($"Duplicate field name '{f.Name}'.", nameof(fields));
            }

            f.Resolve([], 0, 0);
        }

        var columns = new List<ParquetField>();
        foreach (var f in Fields)
        {
            CollectLeaves(f, columns);
        }

        Columns = columns;
    }

    public IReadOnlyList<ParquetField> Fields { get; }

    /// <summary>
    /// A new schema for writing a file's rows back with other columns: copies of these fields, each one named like a
    /// field of <paramref name="fields"/> replaced by it in place, then the rest of <paramref name="fields"/>. (A field
    /// belongs to one schema, so the existing ones are copied rather than shared.)
    /// </summary>
    public ParquetSchema With(params IEnumerable<ParquetField> fields)
    {
        var added = fields.ToList();
        var pending = added.ToDictionary(f => f.Name, StringComparer.Ordinal);
        return new([.. Fields.Select(f => pending.Remove(f.Name, out var replacement) ? replacement : f.Clone()), .. added.Where(f => pending.ContainsKey(f.Name))]);
    }

    /// <summary>The leaf columns, in the order their chunks are stored.</summary>
    public IReadOnlyList<ParquetField> Columns { get; }

    /// <summary>The schema as an indented tree: repetition, physical type, name and logical type of every node.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder("message schema\n");
        foreach (var f in Fields)
        {
            f.Print(sb, 1);
        }

        return sb.ToString().TrimEnd();
    }

    /// <summary>Builds the tree from the footer's flattened depth-first list, checking it as it goes (faults name the footer's offset).</summary>
    internal static ParquetSchema FromElements(IReadOnlyList<SchemaElement> elements, long footerOffset)
    {
        if (elements.Count == 0)
        {
            throw new ParquetFormatException("the schema is empty", null, footerOffset);
        }

        int index = 1;
        var fields = new List<ParquetField>();
        for (int i = 0; i < elements[0].NumChildren; i++)
        {
            fields.Add(Build(elements, ref index, 1, footerOffset));
        }

        if (index != elements.Count)
        {
            throw new ParquetFormatException($"the schema lists {elements.Count} elements but its tree holds {index}", null, footerOffset);
        }

        try
        {
            return new ParquetSchema(fields);
        }
        catch (ArgumentException e)
        {
            throw new ParquetFormatException(e.Message, null, footerOffset, e);
        }
    }

    internal List<SchemaElement> ToElements()
    {
        var list = new List<SchemaElement> { new() { Name = "schema", NumChildren = Fields.Count } };
        foreach (var f in Fields)
        {
            Flatten(f, list);
        }

        return list;
    }

    private static void Flatten(ParquetField f, List<SchemaElement> list)
    {
        list.Add(new SchemaElement
        {
            Name = f.Name,
            Type = f.PhysicalType,
            TypeLength = f.TypeLength,
            RepetitionType = f.Repetition,
            NumChildren = f.Children.Count,
            ConvertedType = f.Converted,
            LogicalType = f.Logical,
        });
        foreach (var c in f.Children)
        {
            Flatten(c, list);
        }
    }

    private static ParquetField Build(IReadOnlyList<SchemaElement> elements, ref int index, int depth, long footerOffset)
    {
        if (index >= elements.Count)
        {
            throw new ParquetFormatException("the schema tree needs more elements than the footer lists", null, footerOffset);
        }

        if (depth > MaxNesting)
        {
            throw new ParquetFormatException("the schema is nested too deeply", null, footerOffset);
        }

        var e = elements[index++];
        var children = new List<ParquetField>();
        if (e.Type is null)
        {
            if (e.NumChildren <= 0 || e.NumChildren > elements.Count - index)
            {
                throw new ParquetFormatException($"schema group '{e.Name}' claims {e.NumChildren} children", null, footerOffset);
            }

            for (int i = 0; i < e.NumChildren; i++)
            {
                children.Add(Build(elements, ref index, depth + 1, footerOffset));
            }
        }
        else if (e.Type == PhysicalType.FixedLenByteArray && e.TypeLength <= 0)
        {
            throw new ParquetFormatException($"fixed-length column '{e.Name}' has length {e.TypeLength}", null, footerOffset);
        }

        int scale = e.LogicalType?.Kind == LogicalKind.Decimal ? e.LogicalType.Scale : e.Scale;
        if (scale is < 0 or > 76)
        {
            throw new ParquetFormatException($"decimal column '{e.Name}' has scale {scale}", null, footerOffset);
        }

        return new ParquetField(e.Name, e.RepetitionType ?? Repetition.Optional, e.Type, e.LogicalType, children)
        {
            Converted = e.ConvertedType,
            TypeLength = e.TypeLength,
            Scale = scale,
            Precision = e.LogicalType?.Kind == LogicalKind.Decimal ? e.LogicalType.Precision : e.Precision,
        };
    }

    private static void CollectLeaves(ParquetField f, List<ParquetField> columns)
    {
        if (f.IsLeaf)
        {
            f.ColumnIndex = columns.Count;
            columns.Add(f);
            return;
        }

        foreach (var c in f.Children)
        {
            CollectLeaves(c, columns);
        }
    }
}
