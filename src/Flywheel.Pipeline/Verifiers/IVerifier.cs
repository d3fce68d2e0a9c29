using Flywheel.Pipeline.Datasets;

namespace Flywheel.Pipeline.Verifiers;

/// <summary>
/// Checks a completion against a prompt's reference answer. Implementations are pure functions: no state, no I/O,
/// safe to call from any thread.
/// </summary>
public interface IVerifier
{
    /// <summary>The name <see cref="Verifier.Create"/> knows it by.</summary>
    string Name { get; }

    /// <summary>The answer <paramref name="completion"/> gives, normalised as it is compared; null where it gives none.</summary>
    string? ExtractAnswer(string completion);

    /// <summary>
    /// Whether <paramref name="completion"/>'s answer is the reference <see cref="PromptRecord.Answer"/>. A prompt
    /// without a usable reference raises <see cref="ArgumentException"/>: a verifier run on prompts that have no
    /// answers is a configuration fault, not a wrong completion.
    /// </summary>
    bool IsCorrect(PromptRecord prompt, string completion);

    /// <summary>Why <paramref name="prompt"/> has no reference this verifier can judge by, or null where it has one: checked when prompts are read, before round 1.</summary>
    string? ReferenceProblem(PromptRecord prompt);
}
