using Flywheel.Pipeline.Datasets;

namespace Flywheel.Pipeline.Verifiers;

/// <summary>
/// GSM8K-style math: the final numeric answer — the number after the last "####" where there is one (GSM8K's own
/// answer format), else the last number in the text — must equal the reference's, read the same way. Thousands
/// separators, "$", units and trailing zeros do not matter: "$1,600.00" equals "1600".
/// </summary>
internal sealed class Gsm8kVerifier : IVerifier
{
    public const string VerifierName = "gsm8k";

    private const string AnswerMark = "####";

    public string Name => VerifierName;

    public string? ExtractAnswer(string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        int mark = completion.LastIndexOf(AnswerMark, StringComparison.Ordinal);
        return mark >= 0 ? NumberText.First(completion[(mark + AnswerMark.Length)..]) : NumberText.Last(completion);
    }

    public bool IsCorrect(PromptRecord prompt, string completion)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        string reference = ExtractAnswer(prompt.Answer ?? "")
            ?? throw new ArgumentException(ReferenceProblem(prompt), nameof(prompt));
        return ExtractAnswer(completion) == reference;
    }

    public string? ReferenceProblem(PromptRecord prompt) =>
        ExtractAnswer(prompt.Answer ?? "") is null ? $"prompt '{prompt.Id}' has no numeric reference answer, which the {VerifierName} verifier needs" : null;
}
