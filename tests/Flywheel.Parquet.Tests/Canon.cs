using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Flywheel.Parquet.Tests;

/// <summary>
/// One canonical JSON line per row, the same whoever read it (our reader, DuckDB, ParquetSharp), and a comparison that
/// treats numbers by value. Integers wider than int32 (and unsigned 32-bit ones, which our reader widens to long) are
/// decimal strings, so that no double rounds them; binary is "base64:..."; dates YYYY-MM-DD; timestamps and times
/// microsecond counts (strings); decimals and floats JSON numbers (floats widened exactly); NaN and infinities strings;
/// struct keys sorted; maps lists of {key, value}. The parquet-fixtures' .expected.jsonl files are in this form.
/// </summary>
internal static class Canon
{
    public static JsonNode? Of(object? v) => v switch
    {
        null => null,
        IReadOnlyDictionary<string, object?> row => Struct(row.Select(kv => KeyValuePair.Create(kv.Key, Of(kv.Value)))),
        string s => s,
        bool b => b,
        sbyte or byte or short or ushort or int => Convert.ToInt32(v, CultureInfo.InvariantCulture),
        uint or long or ulong => Convert.ToString(v, CultureInfo.InvariantCulture),
        Half h => Number((double)h),
        float f => Number(f),
        double d => Number(d),
        decimal m => (double)m,
        byte[] bytes => "base64:" + Convert.ToBase64String(bytes),
        DateOnly date => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTime t => Micros((t.Ticks - DateTime.UnixEpoch.Ticks) / 10),
        TimeOnly t => Micros(t.Ticks / 10),
        Guid g => g.ToString(),
        System.Collections.IEnumerable list => new JsonArray([.. list.Cast<object?>().Select(Of)]),
        _ => throw new ArgumentException($"no canonical form for {v.GetType()}"),
    };

    /// <summary>A struct (or row) with its keys in ordinal order.</summary>
    public static JsonObject Struct(IEnumerable<KeyValuePair<string, JsonNode?>> fields) =>
        new(fields.OrderBy(kv => kv.Key, StringComparer.Ordinal));

    /// <summary>A timestamp or time of day as its count of microseconds.</summary>
    public static JsonNode Micros(Int128 micros) => micros.ToString(CultureInfo.InvariantCulture);

    public static string Line(object? row) => Of(row)?.ToJsonString() ?? "null";

    private static JsonNode Number(double d) => double.IsFinite(d) ? d : d.ToString(CultureInfo.InvariantCulture);

    public static bool Same(JsonNode? a, JsonNode? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }

        switch (a, b)
        {
            case (JsonObject x, JsonObject y):
                return x.Count == y.Count && x.All(kv => y.TryGetPropertyValue(kv.Key, out var other) && Same(kv.Value, other));
            case (JsonArray x, JsonArray y):
                return x.Count == y.Count && x.Zip(y).All(p => Same(p.First, p.Second));
            case (JsonValue x, JsonValue y):
                var kx = x.GetValueKind();
                var ky = y.GetValueKind();
                if (kx == JsonValueKind.Number && ky == JsonValueKind.Number)
                {
                    return x.GetValue<double>() == y.GetValue<double>();
                }

                return kx == ky && x.ToJsonString() == y.ToJsonString();
            default:
                return false;
        }
    }

    /// <summary>Asserts two lists of canonical lines are the same rows, naming the first that differs.</summary>
    public static void AssertSameRows(IReadOnlyList<string> expected, IReadOnlyList<string> actual, string what)
    {
        for (int i = 0; i < Math.Min(expected.Count, actual.Count); i++)
        {
            if (!Same(JsonNode.Parse(expected[i]), JsonNode.Parse(actual[i])))
            {
                Assert.Fail($"{what}: row {i} differs.\nexpected: {expected[i]}\nactual:   {actual[i]}");
            }
        }

        Assert.True(expected.Count == actual.Count, $"{what}: expected {expected.Count} rows, got {actual.Count}");
    }
}
