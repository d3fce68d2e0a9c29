using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;

namespace Flywheel.Parquet.Serialization;

/// <summary>Turns generically read values (<see cref="ParquetRow"/>, lists, primitives) into instances of record types.</summary>
internal sealed class Materializer(ColumnNaming naming)
{
    // Built once per target type, so a row costs no reflection lookups, only the calls themselves.
    private readonly ConcurrentDictionary<Type, Func<ParquetRow, object>> _factories = new();
    private readonly ConcurrentDictionary<Type, Func<List<object?>, string, object>?> _lists = new();

    public T Create<T>(ParquetRow row) => (T)Convert(row, typeof(T), "")!;

    private object? Convert(object? value, Type target, string path)
    {
        if (value is null)
        {
            return target.IsValueType && Nullable.GetUnderlyingType(target) is null
                ? throw new InvalidCastException($"Column '{path}' holds a null, which {target.Name} cannot.")
                : null;
        }

        target = Nullable.GetUnderlyingType(target) ?? target;
        if (target.IsInstanceOfType(value) && value is not ParquetRow && value is not List<object?>)
        {
            return value;
        }

        if (value is ParquetRow row)
        {
            return _factories.GetOrAdd(target, static (type, self) => self.Factory(type), this)(row);
        }

        if (value is List<object?> list && _lists.GetOrAdd(target, static (type, self) => self.ListFactory(type), this) is { } build)
        {
            return build(list, path);
        }

        try
        {
            return System.Convert.ChangeType(value, target, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is InvalidCastException or OverflowException or FormatException)
        {
            throw new InvalidCastException($"Column '{path}' holds a {value.GetType().Name}, which does not fit {target.Name}.", e);
        }
    }

    /// <summary>Builds instances through a parameterless constructor and setters, or a constructor taking every column.</summary>
    private Func<ParquetRow, object> Factory(Type type)
    {
        var properties = TypeSchema.Properties(type, naming).ToList();
        var constructor = type.GetConstructor(Type.EmptyTypes);
        if (constructor is not null)
        {
            var create = ConstructorInvoker.Create(constructor);
            var settable = properties.Where(p => p.Property.SetMethod is not null)
                .Select(p => (p.Column, p.Property.PropertyType, Set: MethodInvoker.Create(p.Property.SetMethod!))).ToArray();
            return row =>
            {
                var instance = create.Invoke();
                foreach (var (column, propertyType, set) in settable)
                {
                    if (row.TryGetValue(column, out var v))
                    {
                        set.Invoke(instance, Convert(v, propertyType, column));
                    }
                }

                return instance;
            };
        }

        var ctor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault()
            ?? throw new InvalidOperationException($"Type {type.Name} has no public constructor.");
        var invoker = ConstructorInvoker.Create(ctor);
        var parameters = ctor.GetParameters().Select(p =>
        {
            var match = properties.FirstOrDefault(x => string.Equals(x.Property.Name, p.Name, StringComparison.OrdinalIgnoreCase));
            string column = p.GetCustomAttribute<ParquetColumnAttribute>()?.Name ?? match.Column ?? p.Name!;
            return (column, p.ParameterType);
        }).ToArray();
        return row =>
        {
            var args = new object?[parameters.Length];
            for (int i = 0; i < args.Length; i++)
            {
                var (column, parameterType) = parameters[i];
                args[i] = row.TryGetValue(column, out var v) ? Convert(v, parameterType, column) : null;
            }

            return invoker.Invoke(args);
        };
    }

    /// <summary>Builds a typed array or <see cref="List{T}"/> from a list column's values; null when the type is not a list.</summary>
    private Func<List<object?>, string, object>? ListFactory(Type type)
    {
        if (TypeSchema.ElementType(type) is not { } element)
        {
            return null;
        }

        var build = typeof(Materializer).GetMethod(nameof(BuildList), BindingFlags.NonPublic | BindingFlags.Instance)!
            .MakeGenericMethod(element).CreateDelegate<Func<List<object?>, string, bool, object>>(this);
        bool array = type.IsArray;
        return (list, path) => build(list, path, array);
    }

    private object BuildList<TElement>(List<object?> list, string path, bool array)
    {
        if (array)
        {
            var items = new TElement[list.Count];
            for (int i = 0; i < items.Length; i++)
            {
                items[i] = (TElement)Convert(list[i], typeof(TElement), path)!;
            }

            return items;
        }

        var result = new List<TElement>(list.Count);
        foreach (var item in list)
        {
            result.Add((TElement)Convert(item, typeof(TElement), path)!);
        }

        return result;
    }
}
