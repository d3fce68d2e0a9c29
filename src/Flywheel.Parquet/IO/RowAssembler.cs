using Flywheel.Parquet.Thrift;

namespace Flywheel.Parquet.IO;

/// <summary>
/// Reassembles rows from decoded column chunks (Dremel record assembly). Lists — the standard three-level layout,
/// legacy two-level lists and bare repeated fields — become <see cref="List{T}"/> of object, maps a list of
/// key/value structs, structs an ordered <see cref="ParquetRow"/>.
/// </summary>
internal sealed class RowAssembler
{
    private readonly Shape[] _fields;

    private RowAssembler(Shape[] fields) => _fields = fields;

    /// <summary>Plans assembly of the fields that have at least one projected leaf.</summary>
    public static RowAssembler Create(ParquetSchema schema, Func<ParquetField, ColumnData?> columnOf)
    {
        var shapes = new List<Shape>();
        foreach (var f in schema.Fields)
        {
            if (Build(f, columnOf) is { } s)
            {
                shapes.Add(s);
            }
        }

        return new RowAssembler([.. shapes]);
    }

    public ParquetRow ReadRow()
    {
        var row = new ParquetRow(_fields.Length);
        foreach (var f in _fields)
        {
            row.Add(f.Name, f.Read());
        }

        return row;
    }

    private static Shape? Build(ParquetField f, Func<ParquetField, ColumnData?> columnOf)
    {
        if (f.Repetition == Repetition.Repeated)
        {
            // A repeated field outside any LIST annotation is a list of its own (required) values.
            return Single(f, columnOf) is { } element ? new ListShape(f.Name, f, f, element) : null;
        }

        return Single(f, columnOf);
    }

    /// <summary>The shape of one occurrence of <paramref name="f"/>, ignoring its own repetition.</summary>
    private static Shape? Single(ParquetField f, Func<ParquetField, ColumnData?> columnOf)
    {
        if (f.IsLeaf)
        {
            return columnOf(f) is { } column ? new LeafShape(f.Name, f, column) : null;
        }

        bool isList = f.Logical?.Kind == LogicalKind.List || f.Converted == ConvertedType.List;
        bool isMap = f.Logical?.Kind == LogicalKind.Map || f.Converted is ConvertedType.Map or ConvertedType.MapKeyValue;
        if ((isList || isMap) && f.Children.Count == 1 && f.Children[0].Repetition == Repetition.Repeated)
        {
            var repeated = f.Children[0];
            Shape? element;
            if (repeated.IsLeaf || repeated.Children.Count > 1 || (!isMap && (repeated.Name == "array" || repeated.Name == f.Name + "_tuple")))
            {
                // Maps (key and value), and legacy two-level lists, whose repeated node is itself the element; a map
                // without values is read as the list of its keys, as Arrow does.
                element = Single(repeated, columnOf);
            }
            else
            {
                element = Build(repeated.Children[0], columnOf);
            }

            return element is null ? null : new ListShape(f.Name, f, repeated, element);
        }

        var children = new List<Shape>();
        foreach (var c in f.Children)
        {
            if (Build(c, columnOf) is { } s)
            {
                children.Add(s);
            }
        }

        return children.Count == 0 ? null : new StructShape(f.Name, f, [.. children]);
    }

    private abstract class Shape(string name, ParquetField node, ColumnData[] leaves)
    {
        public string Name { get; } = name;

        protected ParquetField Node { get; } = node;

        public ColumnData[] Leaves { get; } = leaves;

        protected ColumnData First => Leaves[0];

        public object? Read()
        {
            if (Node.Repetition == Repetition.Optional && First.CurrentDefinition < Node.MaxDefinitionLevel)
            {
                SkipOne();
                return null;
            }

            return ReadPresent();
        }

        protected abstract object? ReadPresent();

        /// <summary>Passes one level entry in every leaf below: the entry that says this node is null or empty.</summary>
        protected void SkipOne()
        {
            foreach (var leaf in Leaves)
            {
                if (leaf.Next() is not null)
                {
                    throw leaf.Corrupt("a value is present below a null or empty parent");
                }
            }
        }
    }

    private sealed class LeafShape(string name, ParquetField node, ColumnData column) : Shape(name, node, [column])
    {
        protected override object? ReadPresent() =>
            First.Next() ?? (Node.Repetition == Repetition.Optional ? null : throw First.Corrupt("a required value is missing"));
    }

    private sealed class StructShape(string name, ParquetField node, Shape[] children)
        : Shape(name, node, [.. children.SelectMany(c => c.Leaves)])
    {
        protected override object? ReadPresent()
        {
            var row = new ParquetRow(children.Length);
            foreach (var c in children)
            {
                row.Add(c.Name, c.Read());
            }

            return row;
        }
    }

    private sealed class ListShape(string name, ParquetField node, ParquetField repeated, Shape element)
        : Shape(name, node, element.Leaves)
    {
        protected override object? ReadPresent()
        {
            var list = new List<object?>();
            if (First.CurrentDefinition < repeated.MaxDefinitionLevel)
            {
                SkipOne();
                return list;
            }

            do
            {
                list.Add(element.Read());
            }
            while (First.HasMoreLevels && First.CurrentRepetition == repeated.MaxRepetitionLevel);

            return list;
        }
    }
}
