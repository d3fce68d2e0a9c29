using System.Globalization;
using System.Text.Json.Nodes;

namespace Flywheel.Parquet;

/// <summary>Turns generically read rows into JSON: lists as arrays, structs as objects, nulls as null.</summary>
public static class ParquetJson
{
    /// <summary>
    /// A row as a JSON object. Numbers stay numbers (NaN and infinities, which JSON lacks, become strings), byte
    /// arrays become base64, dates and times ISO 8601 strings.
    /// </summary>
    public static JsonObject ToJson(IReadOnlyDictionary<string, object?> row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var obj = new JsonObject();
        foreach (var (key, value) in row)
        {
            obj[key] = ToNode(value);
        }

        return obj;
    }

    public static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        IReadOnlyDictionary<string, object?> row => ToJson(row),
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        ulong u => JsonValue.Create(u),
        float f => float.IsFinite(f) ? JsonValue.Create(f) : JsonValue.Create(f.ToString(CultureInfo.InvariantCulture)),
        double d => double.IsFinite(d) ? JsonValue.Create(d) : JsonValue.Create(d.ToString(CultureInfo.InvariantCulture)),
        decimal m => JsonValue.Create(m),
        byte[] bytes => JsonValue.Create(Convert.ToBase64String(bytes)),
        DateOnly date => JsonValue.Create(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
        DateTime time => JsonValue.Create(time.ToString(time.Kind == DateTimeKind.Utc ? "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'" : "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture)),
        TimeOnly t => JsonValue.Create(t.ToString("HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture)),
        Guid g => JsonValue.Create(g.ToString()),
        System.Collections.IEnumerable list => new JsonArray([.. list.Cast<object?>().Select(ToNode)]),
        _ => JsonValue.Create(Convert.ToString(value, CultureInfo.InvariantCulture)),
    };
}
