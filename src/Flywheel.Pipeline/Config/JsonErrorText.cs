using System.Text.Json;
using System.Text.RegularExpressions;

namespace Flywheel.Pipeline.Config;

/// <summary>
/// System.Text.Json ends its messages with "Path: $.x | LineNumber: 3 | BytePositionInLine: 14." in its own counting
/// (lines from 0); callers name the place their own way, so only the reason is kept. Reasons that speak of .NET types
/// (an unknown key, a value of the wrong kind) are said in the file's terms instead.
/// </summary>
internal static partial class JsonErrorText
{
    public static string Reason(JsonException e)
    {
        string message = e.Message.ReplaceLineEndings(" ");
        int cut = message.Length;
        foreach (var marker in (ReadOnlySpan<string>)[" Path: ", " LineNumber: "])
        {
            int at = message.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0) cut = Math.Min(cut, at);
        }
        string reason = message[..cut].Trim().TrimEnd('.');
        if (UnmappedKey().Match(reason) is { Success: true } unknown) return UnknownKey(unknown.Groups[1].Value, unknown.Groups[2].Value);
        if (WrongKind().Match(reason) is { Success: true } kind) return $"expected {KindOf(kind.Groups[1].Value)}";
        return reason;
    }

    private static string UnknownKey(string key, string typeName)
    {
        var type = typeof(JsonErrorText).Assembly.GetType(typeName);
        if (type is null) return $"unknown key '{key}'";
        var known = ConfigLoader.Json.GetTypeInfo(type).Properties.Select(p => p.Name).ToList();
        string? near = known.MinBy(k => Distance(k, key));
        string hint = near is not null && Distance(near, key) <= Math.Max(2, key.Length / 3) ? $"; did you mean '{near}'?" : "";
        return $"unknown key '{key}'{hint} (keys here: {string.Join(", ", known)})";
    }

    private static string KindOf(string typeName) => typeName switch
    {
        "System.String" => "a string",
        "System.Boolean" => "true or false",
        "System.Int32" or "System.Int64" or "System.UInt32" or "System.UInt64" => "a whole number",
        "System.Single" or "System.Double" => "a number",
        _ when typeName.Contains("List", StringComparison.Ordinal) || typeName.EndsWith("[]", StringComparison.Ordinal) => "a list",
        _ when typeName.StartsWith("System.Nullable`1[[", StringComparison.Ordinal) => KindOf(typeName[19..typeName.IndexOf(',', StringComparison.Ordinal)]),
        _ => "an object",
    };

    /// <summary>Edit distance, for suggesting the key a typo meant.</summary>
    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    [GeneratedRegex(@"^The JSON property '(.*)' could not be mapped to any \.NET member contained in type '(.*)'$")]
    private static partial Regex UnmappedKey();

    [GeneratedRegex(@"^The JSON value could not be converted to (.*)$")]
    private static partial Regex WrongKind();
}
