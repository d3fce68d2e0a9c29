using System.Reflection;

namespace Flywheel.Parquet.Serialization;

/// <summary>Builds, once per file, the typed shredders that carry a record type's properties into a writer's columns.</summary>
internal static class Binder
{
    public static RowShredder<T> Bind<T>(ParquetWriter writer, ColumnNaming naming)
    {
        var members = writer.Schema.Fields.Select(f => (Member<T>)MemberFor(typeof(T), f, writer, naming)).ToArray();
        return new RowShredder<T>(members);
    }

    private static object MemberFor(Type owner, ParquetField field, ParquetWriter writer, ColumnNaming naming)
    {
        var property = TypeSchema.Properties(owner, naming).FirstOrDefault(p => p.Column == field.Name).Property
            ?? throw new ArgumentException($"Type {owner.Name} has no property for column '{field.Path}'.");
        var type = property.PropertyType;
        var getter = property.GetMethod!.CreateDelegate(typeof(Func<,>).MakeGenericType(owner, type));
        var shredder = ShredderFor(field, type, writer, naming);
        return Activator.CreateInstance(typeof(Member<,>).MakeGenericType(owner, type), getter, shredder)!;
    }

    private static object ShredderFor(ParquetField field, Type type, ParquetWriter writer, ColumnNaming naming)
    {
        try
        {
            if (field.IsLeaf)
            {
                var column = writer.Column(field.ColumnIndex);
                var generic = Nullable.GetUnderlyingType(type) is { } inner ? typeof(NullableLeaf<>).MakeGenericType(inner)
                    : type.IsValueType ? typeof(ValueLeaf<>).MakeGenericType(type)
                    : typeof(ReferenceLeaf<>).MakeGenericType(type);
                return Activator.CreateInstance(generic, field, column)!;
            }

            if (TypeSchema.IsStandardList(field))
            {
                var elementType = TypeSchema.ElementType(type) ?? throw new ArgumentException($"Column '{field.Path}' is a list; property type {type} is not.");
                var element = ShredderFor(field.Children[0].Children[0], elementType, writer, naming);
                return Activator.CreateInstance(typeof(ListShredder<,>).MakeGenericType(type, elementType), field, element)!;
            }

            if (!type.IsClass || type == typeof(string))
            {
                throw new ArgumentException($"Column '{field.Path}' is a struct; property type {type} is not a class.");
            }

            var members = Array.CreateInstance(typeof(Member<>).MakeGenericType(type), field.Children.Count);
            for (int i = 0; i < field.Children.Count; i++)
            {
                members.SetValue(MemberFor(type, field.Children[i], writer, naming), i);
            }

            return Activator.CreateInstance(typeof(StructShredder<>).MakeGenericType(type), field, members)!;
        }
        catch (TargetInvocationException e) when (e.InnerException is InvalidCastException)
        {
            throw new ArgumentException($"Property type {type} cannot be written to column '{field.Path}' ({field.PhysicalType}).", e.InnerException);
        }
    }
}
