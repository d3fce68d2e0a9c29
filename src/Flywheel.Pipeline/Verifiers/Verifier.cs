namespace Flywheel.Pipeline.Verifiers;

/// <summary>The verifiers by name, as configs name them.</summary>
public static class Verifier
{
    /// <summary>The known names: "gsm8k" (final numeric answer) and "exact" (short exact answers).</summary>
    public static IReadOnlyList<string> Names { get; } = [Gsm8kVerifier.VerifierName, ExactAnswerVerifier.VerifierName];

    /// <summary>The verifier called <paramref name="name"/> (case-insensitive); an unknown name raises <see cref="ArgumentException"/> listing the known ones.</summary>
    public static IVerifier Create(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim() switch
        {
            var n when n.Equals(Gsm8kVerifier.VerifierName, StringComparison.OrdinalIgnoreCase) => new Gsm8kVerifier(),
            var n when n.Equals(ExactAnswerVerifier.VerifierName, StringComparison.OrdinalIgnoreCase) => new ExactAnswerVerifier(),
            _ => throw new ArgumentException($"unknown verifier '{name}'; known verifiers: {string.Join(", ", Names)}", nameof(name)),
        };
    }
}
