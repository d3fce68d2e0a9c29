using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;

namespace Flywheel.Parquet.Serialization;

/// <summary>Turns generically read values (<see cref="ParquetRow"/>, lists, primitives) into instances of record types.</summary>
internal sealed class Materializer(ColumnNaming naming)
{
    private readonly ConcurrentDictionary<Type, Func<ParquetRow, object>> _factories = new();

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
            return _factories.GetOrAdd(target, Factory)(row);
        }

        if (value is List<object?> list && TypeSchema.ElementType(target) is { } element)
        {
            var array = Array.CreateInstance(element, list.Count);
            for (int i = 0; i < list.Count; i++)
            {
                array.SetValue(Convert(list[i], element, path), i);
            }

            return target.IsArray ? array : Activator.CreateInstance(typeof(List<>).MakeGenericType(element), array);
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
            var settable = properties.Where(p => p.Property.SetMethod is not null).ToList();
            return row =>
            {
                var instance = constructor.Invoke(null);
                foreach (var (column, property) in settable)
                {
                    if (row.TryGetValue(column, out var v))
                    {
                        property.SetValue(instance, Convert(v, property.PropertyType, column));
                    }
                }

                return instance;
            };
        }

        var ctor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault()
            ?? throw new InvalidOperationException($"Type {type.Name} has no public constructor.");
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

            return ctor.Invoke(args);
        };
    }
}
