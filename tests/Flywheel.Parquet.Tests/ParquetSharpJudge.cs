using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using ParquetSharp;
using ParquetSharp.Schema;

namespace Flywheel.Parquet.Tests;

/// <summary>
/// ParquetSharp (Apache Arrow's C++ Parquet reader, the one under pyarrow) as an independent reader, through its
/// Arrow-free column API: each leaf column is read whole with <c>LogicalReader(useNesting: true)</c>, which decodes
/// the pages and the definition and repetition levels into per-row values (arrays for lists and maps, Nested for
/// structs), and the leaves of a row are put back together along the schema into <see cref="Canon"/>'s form.
/// </summary>
internal static class ParquetSharpJudge
{
    /// <summary>The file's rows as canonical JSON lines; throws where ParquetSharp cannot read it.</summary>
    public static List<string> Read(string path)
    {
        using var file = new ParquetFileReader(path)
        {
            LogicalTypeFactory = new JudgeTypes(),
            LogicalReadConverterFactory = new JudgeConverters(),
        };
        using var metadata = file.FileMetaData;
        using var root = metadata.Schema.GroupNode;
        var fields = root.Fields.Select(Shape.Of).ToArray();
        int leaves = fields.Sum(f => f.Leaves);
        Assert.Equal(metadata.NumColumns, leaves);

        var lines = new List<string>();
        for (int g = 0; g < metadata.NumRowGroups; g++)
        {
            using var rowGroup = file.RowGroup(g);
            int rows = checked((int)rowGroup.MetaData.NumRows);
            var columns = new object?[leaves][];
            for (int c = 0; c < leaves; c++)
            {
                using var column = rowGroup.Column(c);
                using var values = column.LogicalReader(useNesting: true);
                columns[c] = values.Apply(new ReadAll(rows));
            }

            var row = new object?[leaves];
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < leaves; c++)
                {
                    row[c] = columns[c][r];
                }

                lines.Add(Shape.Fields(fields, row).ToJsonString());
            }
        }

        return lines;
    }

    private sealed class ReadAll(int rows) : ILogicalColumnReaderVisitor<object?[]>
    {
        public object?[] OnLogicalColumnReader<TValue>(LogicalColumnReader<TValue> columnReader) =>
            [.. columnReader.ReadAll(rows).Select(v => (object?)v)];
    }

    /// <summary>A node of the schema, and how ParquetSharp hands over its values.</summary>
    private abstract class Shape(string name, int leaves)
    {
        public string Name { get; } = name;

        public int Leaves { get; } = leaves;

        /// <summary>The canonical value of this node from its leaves' values at this level, one each.</summary>
        public abstract JsonNode? Build(ReadOnlySpan<object?> values);

        /// <summary>A struct of <paramref name="fields"/> from their leaves' values, in schema order.</summary>
        public static JsonObject Fields(Shape[] fields, ReadOnlySpan<object?> values)
        {
            var result = new List<KeyValuePair<string, JsonNode?>>(fields.Length);
            int at = 0;
            foreach (var f in fields)
            {
                result.Add(KeyValuePair.Create(f.Name, f.Build(values.Slice(at, f.Leaves))));
                at += f.Leaves;
            }

            return Canon.Struct(result);
        }

        /// <summary>Null when every leaf says so; a judge whose leaves disagree is broken, not lenient.</summary>
        protected static bool IsNull(ReadOnlySpan<object?> values)
        {
            bool isNull = values[0] is null;
            foreach (var v in values)
            {
                if (v is null != isNull)
                {
                    throw new InvalidDataException("ParquetSharp's leaves disagree on whether a parent is null");
                }
            }

            return isNull;
        }

        public static Shape Of(Node node)
        {
            if (node.Repetition == ParquetSharp.Repetition.Repeated)
            {
                throw new NotSupportedException($"'{node.Name}': ParquetSharp reads repeated fields only inside LIST or MAP groups");
            }

            if (node is PrimitiveNode primitive)
            {
                return new Leaf(primitive.Name, Canonical(primitive));
            }

            var group = (GroupNode)node;
            using var logical = group.LogicalType;
            var children = group.Fields;
            if (logical is ListLogicalType or MapLogicalType && children is [{ Repetition: ParquetSharp.Repetition.Repeated } repeated])
            {
                // The group and its repeated child come as one array; the element is the repeated group itself where
                // it holds a map's key and value or a legacy list's struct (the spec's backward-compatibility rules),
                // else its only child.
                bool repeatedIsElement = repeated is GroupNode r
                    && (r.Fields.Length > 1 || (logical is ListLogicalType && (r.Name == "array" || r.Name == group.Name + "_tuple")));
                var element = repeatedIsElement
                    ? new Struct(repeated.Name, [.. ((GroupNode)repeated).Fields.Select(Of)], wrapped: false)
                    : Of(((GroupNode)repeated).Fields.Single());
                return new List(group.Name, element);
            }

            return new Struct(group.Name, [.. children.Select(Of)], wrapped: true);
        }

        private static Func<object, JsonNode?> Canonical(PrimitiveNode node)
        {
            using var logical = node.LogicalType;
            if (logical is TimestampLogicalType timestamp)
            {
                var unit = timestamp.TimeUnit;
                return v => Canon.Micros(unit switch { TimeUnit.Millis => (Int128)(long)v * 1000, TimeUnit.Micros => (long)v, _ => (long)v / 1000 });
            }

            return v => v switch
            {
                // INT96: nanoseconds of the day, then the Julian day.
                Int96 t => Canon.Micros(((Int128)(t.C - 2440588) * 86_400_000_000) + ((long)(((ulong)(uint)t.B << 32) | (uint)t.A) / 1000)),
                _ => Canon.Of(v),
            };
        }
    }

    private sealed class Leaf(string name, Func<object, JsonNode?> canonical) : Shape(name, 1)
    {
        public override JsonNode? Build(ReadOnlySpan<object?> values) => values[0] is { } v ? canonical(v) : null;
    }

    /// <summary>A struct: with <paramref name="wrapped"/>, ParquetSharp wraps its fields' values in a Nested.</summary>
    private sealed class Struct(string name, Shape[] fields, bool wrapped) : Shape(name, fields.Sum(f => f.Leaves))
    {
        public override JsonNode? Build(ReadOnlySpan<object?> values)
        {
            if (wrapped && IsNull(values))
            {
                return null;
            }

            var inner = new object?[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                inner[i] = wrapped ? values[i]!.GetType().GetField(nameof(Nested<int>.Value))!.GetValue(values[i]) : values[i];
            }

            return Fields(fields, inner);
        }
    }

    private sealed class List(string name, Shape element) : Shape(name, element.Leaves)
    {
        public override JsonNode? Build(ReadOnlySpan<object?> values)
        {
            if (IsNull(values))
            {
                return null;
            }

            var arrays = new Array[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                arrays[i] = (Array)values[i]!;
                if (arrays[i].Length != arrays[0].Length)
                {
                    throw new InvalidDataException("ParquetSharp's leaves disagree on a list's length");
                }
            }

            var result = new JsonArray();
            var item = new object?[values.Length];
            for (int k = 0; k < arrays[0].Length; k++)
            {
                for (int i = 0; i < arrays.Length; i++)
                {
                    item[i] = arrays[i].GetValue(k);
                }

                result.Add(element.Build(item));
            }

            return result;
        }
    }

    /// <summary>
    /// ParquetSharp's type mapping, with dates and times as DateOnly and TimeOnly, timestamps as their raw counts
    /// (DateTime cannot hold every instant a file may store) and fixed-length byte arrays without a logical type as bytes.
    /// </summary>
    private sealed class JudgeTypes : LogicalTypeFactory
    {
        public JudgeTypes()
        {
            DateAsDateOnly = true;
            TimeAsTimeOnly = true;
        }

        public override (Type physicalType, Type logicalType) GetSystemTypes(ColumnDescriptor descriptor)
        {
            using var logical = descriptor.LogicalType;
            using var node = descriptor.SchemaNode;
            bool optional = node.Repetition == ParquetSharp.Repetition.Optional;
            return (logical, descriptor.PhysicalType) switch
            {
                (TimestampLogicalType, ParquetSharp.PhysicalType.Int64) => (typeof(long), optional ? typeof(long?) : typeof(long)),
                (NoneLogicalType, ParquetSharp.PhysicalType.FixedLenByteArray) => (typeof(FixedLenByteArray), typeof(byte[])),
                _ => base.GetSystemTypes(descriptor),
            };
        }
    }

    /// <summary>The default conversions, plus fixed-length byte arrays copied out as bytes.</summary>
    private sealed class JudgeConverters : LogicalReadConverterFactory
    {
        public override Delegate GetConverter<TLogical, TPhysical>(ColumnDescriptor columnDescriptor, ColumnChunkMetaData columnChunkMetaData)
        {
            if (typeof(TLogical) == typeof(byte[]) && typeof(TPhysical) == typeof(FixedLenByteArray))
            {
                int length = columnDescriptor.TypeLength;
                return (LogicalRead<byte[]?, FixedLenByteArray>.Converter)((source, definitionLevels, destination, definedLevel) =>
                {
                    for (int i = 0, s = 0; i < destination.Length; i++)
                    {
                        if (definitionLevels.IsEmpty || definitionLevels[i] == definedLevel)
                        {
                            destination[i] = new byte[length];
                            Marshal.Copy(source[s++].Pointer, destination[i]!, 0, length);
                        }
                        else
                        {
                            destination[i] = null;
                        }
                    }
                });
            }

            return base.GetConverter<TLogical, TPhysical>(columnDescriptor, columnChunkMetaData);
        }
    }
}
