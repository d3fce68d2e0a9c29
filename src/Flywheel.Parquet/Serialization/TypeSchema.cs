using System.Reflection;
using System.Text;
using Flywheel.Parquet.Thrift;

namespace Flywheel.Parquet.Serialization;

/// <summary>Derives schemas from .NET types, and binds schema fields to the properties that hold their values.</summary>
internal static class TypeSchema
{
    private const int MaxDepth = 32;

    public static ParquetSchema Derive(Type type, ColumnNaming naming) =>
        new(Properties(type, naming).Select(p => FieldFor(p.Column, p.Property.PropertyType, new NullabilityInfoContext().Create(p.Property), naming, 0)));

    /// <summary>The readable, non-ignored public properties of <paramref name="type"/> with their column names.</summary>
    public static IEnumerable<(string Column, PropertyInfo Property)> Properties(Type type, ColumnNaming naming) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetMethod is not null && p.GetIndexParameters().Length == 0 && p.GetCustomAttribute<ParquetIgnoreAttribute>() is null)
            .Select(p => (ColumnName(p, naming), p));

    public static string ColumnName(PropertyInfo p, ColumnNaming naming) =>
        p.GetCustomAttribute<ParquetColumnAttribute>()?.Name ?? (naming == ColumnNaming.SnakeCase ? SnakeCase(p.Name) : p.Name);

    public static string SnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c))
            {
                bool boundary = i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]) && char.IsUpper(name[i - 1])));
                if (boundary)
                {
                    sb.Append('_');
                }

                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    public static bool IsStandardList(ParquetField f) =>
        !f.IsLeaf && (f.Logical?.Kind == LogicalKind.List || f.Converted == ConvertedType.List)
        && f.Children.Count == 1 && f.Children[0].Repetition == Repetition.Repeated && f.Children[0].Children.Count == 1;

    /// <summary>The element type of a list-shaped property type (arrays but byte[], List, IReadOnlyList, IList…), or null.</summary>
    public static Type? ElementType(Type type)
    {
        if (type == typeof(byte[]) || type == typeof(string))
        {
            return null;
        }

        if (type.IsArray)
        {
            return type.GetElementType();
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() is var d
            && (d == typeof(List<>) || d == typeof(IReadOnlyList<>) || d == typeof(IList<>) || d == typeof(IEnumerable<>) || d == typeof(IReadOnlyCollection<>) || d == typeof(ICollection<>)))
        {
            return type.GetGenericArguments()[0];
        }

        return null;
    }

    private static ParquetField FieldFor(string name, Type type, NullabilityInfo nullability, ColumnNaming naming, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new ArgumentException($"Type {type} nests too deeply (is it recursive?).");
        }

        if (Nullable.GetUnderlyingType(type) is { } inner)
        {
            return Leaf(name, inner, nullable: true) ?? throw Unsupported(name, type);
        }

        bool nullable = !type.IsValueType && nullability.ReadState != NullabilityState.NotNull;
        if (Leaf(name, type, nullable) is { } leaf)
        {
            return leaf;
        }

        if (ElementType(type) is { } element)
        {
            var elementNullability = type.IsArray ? nullability.ElementType! : nullability.GenericTypeArguments[0];
            return ParquetField.List(name, FieldFor("element", element, elementNullability, naming, depth + 1), nullable);
        }

        if (type.IsClass)
        {
            var children = Properties(type, naming).Select(p => FieldFor(p.Column, p.Property.PropertyType, new NullabilityInfoContext().Create(p.Property), naming, depth + 1)).ToList();
            return children.Count > 0 ? ParquetField.Struct(name, nullable, children) : throw Unsupported(name, type);
        }

        throw Unsupported(name, type);
    }

    private static ParquetField? Leaf(string name, Type type, bool nullable)
    {
        FieldType? t = type == typeof(bool) ? FieldType.Boolean
            : type == typeof(int) ? FieldType.Int32
            : type == typeof(long) ? FieldType.Int64
            : type == typeof(float) ? FieldType.Float
            : type == typeof(double) ? FieldType.Double
            : type == typeof(string) ? FieldType.String
            : type == typeof(byte[]) ? FieldType.Binary
            : null;
        return t is { } ft ? ParquetField.Of(name, ft, nullable) : null;
    }

    private static ArgumentException Unsupported(string name, Type type) =>
        new($"Property '{name}' has type {type}, which has no Parquet mapping (use string, bool, int, long, float, double, byte[], their nullable forms, classes, or lists of these).");
}
