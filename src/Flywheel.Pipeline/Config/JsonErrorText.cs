using System.Text.Json;

namespace Flywheel.Pipeline.Config;

/// <summary>
/// System.Text.Json ends its messages with "Path: $.x | LineNumber: 3 | BytePositionInLine: 14." in its own counting
/// (lines from 0); callers name the place their own way, so only the reason is kept.
/// </summary>
internal static class JsonErrorText
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
        return message[..cut].Trim().TrimEnd('.');
    }
}
