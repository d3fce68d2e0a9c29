using System.Text;
using Flywheel.Parquet.Thrift;

namespace Flywheel.Parquet;

/// <summary>The value types a declared leaf field can hold, with the Parquet type each is stored as.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "The .NET type names they map to.")]
public enum FieldType
{
    /// <summary>BOOLEAN.</summary>
    Boolean,

    /// <summary>INT32.</summary>
    Int32,

    /// <summary>INT64.</summary>
    Int64,

    /// <summary>FLOAT.</summary>
    Float,

    /// <summary>DOUBLE.</summary>
    Double,

    /// <summary>BYTE_ARRAY annotated STRING (UTF-8).</summary>
    String,

    /// <summary>BYTE_ARRAY.</summary>
    Binary,
}

/// <summary>
/// A node of a Parquet schema: a leaf column or a group, exactly as stored (a list is its LIST-annotated group with
/// the repeated group inside). Declare fields with <see cref="Of"/>, <see cref="Struct"/> and <see cref="List"/>.
/// </summary>
public sealed class ParquetField
{
    private readonly List<ParquetField> _children;

    internal ParquetField(string name, Repetition repetition, PhysicalType? physicalType, LogicalType? logicalType, IEnumerable<ParquetField> children)
    {
        Name = name;
        Repetition = repetition;
        PhysicalType = physicalType;
        Logical = logicalType;
        _children = [.. children];
        foreach (var c in _children)
        {
            c.Parent = this;
        }
    }

    public string Name { get; }

    public Repetition Repetition { get; }

    /// <summary>The physical type of a leaf; null for a group.</summary>
    public PhysicalType? PhysicalType { get; }

    /// <summary>The logical type annotation as the specification writes it (STRING, LIST, INT(8, signed), …), or null.</summary>
    public string? LogicalType => Logical?.ToString() ?? (Converted != ConvertedType.None ? Converted.ToString().ToUpperInvariant() : null);

    public IReadOnlyList<ParquetField> Children => _children;

    public bool IsLeaf => PhysicalType is not null;

    /// <summary>The dotted path from the root, as Parquet names column chunks ("messages.list.element.role").</summary>
    public string Path => string.Join('.', PathParts);

    public int MaxDefinitionLevel { get; private set; }

    public int MaxRepetitionLevel { get; private set; }

    /// <summary>Index of this leaf among the schema's columns; -1 for groups.</summary>
    public int ColumnIndex { get; internal set; } = -1;

    internal ParquetField? Parent { get; private set; }

    internal string[] PathParts { get; private set; } = [];

    internal LogicalType? Logical { get; }

    internal ConvertedType Converted { get; init; } = ConvertedType.None;

    internal int TypeLength { get; init; }

    internal int Scale { get; init; }

    internal int Precision { get; init; }

    /// <summary>A leaf column holding values of <paramref name="type"/>.</summary>
    public static ParquetField Of(string name, FieldType type, bool nullable = true)
    {
        var rep = nullable ? Repetition.Optional : Repetition.Required;
        return type switch
        {
            FieldType.Boolean => new(name, rep, Parquet.PhysicalType.Boolean, null, []),
            FieldType.Int32 => new(name, rep, Parquet.PhysicalType.Int32, null, []),
            FieldType.Int64 => new(name, rep, Parquet.PhysicalType.Int64, null, []),
            FieldType.Float => new(name, rep, Parquet.PhysicalType.Float, null, []),
            FieldType.Double => new(name, rep, Parquet.PhysicalType.Double, null, []),
            FieldType.String => new(name, rep, Parquet.PhysicalType.ByteArray, new LogicalType(LogicalKind.String), []) { Converted = ConvertedType.Utf8 },
            FieldType.Binary => new(name, rep, Parquet.PhysicalType.ByteArray, null, []),
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };
    }

    /// <summary>A struct (group) of fields.</summary>
    public static ParquetField Struct(string name, bool nullable, params IEnumerable<ParquetField> fields) =>
        new(name, nullable ? Repetition.Optional : Repetition.Required, null, null, fields);

    /// <summary>A list in the standard three-level layout: <c>name (LIST) { repeated group list { element } }</c>.</summary>
    public static ParquetField List(string name, ParquetField element, bool nullable = true)
    {
        ArgumentNullException.ThrowIfNull(element);
        var renamed = element.Name == "element" ? element : element.Renamed("element");
        var repeated = new ParquetField("list", Repetition.Repeated, null, null, [renamed]);
        return new(name, nullable ? Repetition.Optional : Repetition.Required, null, new LogicalType(LogicalKind.List), [repeated]) { Converted = ConvertedType.List };
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        Print(sb, 0);
        return sb.ToString().TrimEnd();
    }

    internal void Print(StringBuilder sb, int depth)
    {
        sb.Append(' ', depth * 2).Append(Repetition.ToString().ToLowerInvariant()).Append(' ');
        sb.Append(PhysicalType is { } p ? Serialization.TypeSchema.SnakeCase(p.ToString()).ToUpperInvariant() : "group").Append(' ').Append(Name);
        if (LogicalType is { } l)
        {
            sb.Append(" (").Append(l).Append(')');
        }

        sb.AppendLine();
        foreach (var c in _children)
        {
            c.Print(sb, depth + 1);
        }
    }

    internal ParquetField Renamed(string name) =>
        new(name, Repetition, PhysicalType, Logical, _children.Select(c => c.Clone()))
        {
            Converted = Converted,
            TypeLength = TypeLength,
            Scale = Scale,
            Precision = Precision,
        };

    internal ParquetField Clone() => Renamed(Name);

    /// <summary>Computes paths and levels top-down; called once the tree is complete.</summary>
    internal void Resolve(string[] parentPath, int parentDef, int parentRep)
    {
        PathParts = [.. parentPath, Name];
        MaxDefinitionLevel = parentDef + (Repetition == Repetition.Required ? 0 : 1);
        MaxRepetitionLevel = parentRep + (Repetition == Repetition.Repeated ? 1 : 0);
        foreach (var c in _children)
        {
            c.Resolve(PathParts, MaxDefinitionLevel, MaxRepetitionLevel);
        }
    }
}
