using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Flywheel.Parquet;

/// <summary>
/// A row (or struct value) read generically: field names to values, in schema order. Values are null, bool, int,
/// long, float, double, string, byte[], decimal, DateOnly, DateTime, TimeOnly, Guid, a nested <see cref="ParquetRow"/>
/// for a struct, or a <see cref="List{T}"/> of these for a list (a map is a list of key/value rows).
/// </summary>
[SuppressMessage("Naming", "CA1710", Justification = "A row reads better as a row than as a dictionary.")]
public sealed class ParquetRow : IReadOnlyDictionary<string, object?>
{
    private readonly List<KeyValuePair<string, object?>> _fields;

    internal ParquetRow(int capacity) => _fields = new(capacity);

    public int Count => _fields.Count;

    public IEnumerable<string> Keys => _fields.Select(f => f.Key);

    public IEnumerable<object?> Values => _fields.Select(f => f.Value);

    public object? this[string key] => TryGetValue(key, out var v) ? v : throw new KeyNotFoundException($"No field '{key}'.");

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out object? value)
    {
        foreach (var f in _fields)
        {
            if (f.Key == key)
            {
                value = f.Value;
                return true;
            }
        }

        value = null;
        return false;
    }

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => _fields.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal void Add(string key, object? value) => _fields.Add(new(key, value));
}
