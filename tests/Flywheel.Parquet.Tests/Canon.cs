using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Flywheel.Parquet.Tests;

/// <summary>
/// The canonical JSON that judges/canon.mjs prints, made from our reader's values, and a comparison that treats
/// numbers by value (JavaScript and .NET spell some doubles differently).
/// </summary>
internal static class Canon
{
    public static JsonNode? Of(object? v) => v switch
    {
        null => null,
        IReadOnlyDictionary<string, object?> row => new JsonObject(row.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, Of(kv.Value)))),
        string s => s,
        bool b => b,
        int i => i,
        long l => l.ToString(CultureInfo.InvariantCulture),
        ulong u => u.ToString(CultureInfo.InvariantCulture),
        float f => float.IsFinite(f) ? (double)f : ((double)f).ToString(CultureInfo.InvariantCulture),
        double d => double.IsFinite(d) ? d : d.ToString(CultureInfo.InvariantCulture),
        decimal m => (double)m,
        byte[] bytes => "base64:" + Convert.ToBase64String(bytes),
        DateOnly date => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTime t => ((t.Ticks - DateTime.UnixEpoch.Ticks) / 10).ToString(CultureInfo.InvariantCulture),
        TimeOnly t => (t.Ticks / 10).ToString(CultureInfo.InvariantCulture),
        Guid g => g.ToString(),
        System.Collections.IEnumerable list => new JsonArray([.. list.Cast<object?>().Select(Of)]),
        _ => throw new ArgumentException($"no canonical form for {v.GetType()}"),
    };

    public static string Line(object? row) => Of(row)?.ToJsonString() ?? "null";

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
