using System.Globalization;
using System.Text.RegularExpressions;

namespace Flywheel.Pipeline.Verifiers;

/// <summary>Finds numbers as people write them in answers ("-3", "$1,200.50", "18.0") and normalises them for comparison.</summary>
internal static partial class NumberText
{
    /// <summary>The first number in <paramref name="text"/>, normalised, or null.</summary>
    public static string? First(string text) => Normalize(NumberPattern().Match(text));

    /// <summary>The last number in <paramref name="text"/>, normalised, or null.</summary>
    public static string? Last(string text) => NumberPattern().Matches(text) is { Count: > 0 } all ? Normalize(all[^1]) : null;

    /// <summary>
    /// The value's shortest invariant form: "1,200.50" → "1200.5", "18.0" → "18", "-0" → "0"; equal numbers give equal
    /// strings, so comparing these compares values.
    /// </summary>
    private static string? Normalize(Match match)
    {
        if (!match.Success)
        {
            return null;
        }

        string digits = match.Value.Replace("$", "", StringComparison.Ordinal).Replace(",", "", StringComparison.Ordinal);
        var value = decimal.Parse(digits, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        return value == 0 ? "0" : value.ToString("G29", CultureInfo.InvariantCulture);
    }

    // A minus sign counts only where no digit comes right before it ("16-3" is a subtraction, not "-3"); thousands
    // separators only in threes; a "$" may sit between the sign and the digits. At most 28 digits, as decimal holds.
    // ASCII digits only: .NET's \d also matches other scripts' digits ("۱۶"), which decimal.Parse refuses.
    private const string Number = @"(?<![0-9.])-?\$?(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]{1,28})(?:\.[0-9]{1,28})?(?![0-9])";

    [GeneratedRegex(Number)]
    private static partial Regex NumberPattern();
}
