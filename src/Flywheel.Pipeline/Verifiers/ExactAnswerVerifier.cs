using System.Globalization;
using System.Text.RegularExpressions;
using Flywheel.Pipeline.Datasets;

namespace Flywheel.Pipeline.Verifiers;

/// <summary>
/// Short exact answers, such as small arithmetic ("What is 17 + 25?" → "42"): the completion is right when, trimmed,
/// it is the reference, or when the reference is an integer and the completion's first integer equals it ("42.",
/// "The answer is 42").
/// </summary>
internal sealed partial class ExactAnswerVerifier : IVerifier
{
    public const string VerifierName = "exact";

    public string Name => VerifierName;

    /// <summary>The completion's first integer, else the trimmed completion; null where it is blank.</summary>
    public string? ExtractAnswer(string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        return FirstInteger(completion) ?? (string.IsNullOrWhiteSpace(completion) ? null : completion.Trim());
    }

    public bool IsCorrect(PromptRecord prompt, string completion)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(completion);
        string reference = ReferenceProblem(prompt) is { } problem ? throw new ArgumentException(problem, nameof(prompt)) : prompt.Answer!.Trim();
        return completion.Trim() == reference
            || (Integer(reference) is { } number && FirstInteger(completion) == number);
    }

    public string? ReferenceProblem(PromptRecord prompt) =>
        string.IsNullOrWhiteSpace(prompt.Answer) ? $"prompt '{prompt.Id}' has no reference answer, which the {VerifierName} verifier needs" : null;

    private static string? FirstInteger(string text) =>
        IntegerPattern().Match(text) is { Success: true } m ? Integer(m.Value) : null;

    /// <summary>The integer's canonical form ("042" → "42", "-0" → "0"), or null where the text is not an integer.</summary>
    private static string? Integer(string text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value) ? value.ToString(CultureInfo.InvariantCulture) : null;

    // A minus sign counts only where no digit comes right before it: "17-25" starts with 17.
    [GeneratedRegex(@"(?<!\d)-?\d+")]
    private static partial Regex IntegerPattern();
}
