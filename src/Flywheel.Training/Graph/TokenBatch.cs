namespace Flywheel.Training.Graph;

/// <summary>
/// Sequences right-padded to a common length <see cref="Length"/>, laid out sequence after sequence: token t of
/// sequence b is row b·Length + t of the flattened hidden states. Padding never reaches a real token's output because
/// attention is causal and padding only follows real tokens.
/// </summary>
internal sealed class TokenBatch
{
    private TokenBatch(int[] tokens, int[] lengths, int length)
    {
        Tokens = tokens;
        Lengths = lengths;
        Length = length;
    }

    /// <summary>The padded tokens, <see cref="Count"/> × <see cref="Length"/>.</summary>
    internal int[] Tokens { get; }

    internal int[] Lengths { get; }

    /// <summary>The padded length of every sequence.</summary>
    internal int Length { get; }

    internal int Count => Lengths.Length;

    internal int PaddedTokens => Tokens.Length;

    internal int RealTokens => Lengths.Sum();

    /// <summary>Pads <paramref name="sequences"/>; every token must be below <paramref name="vocabularySize"/> (checked: get_rows aborts otherwise).</summary>
    internal static TokenBatch Pad(IReadOnlyList<IReadOnlyList<int>> sequences, int vocabularySize)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        if (sequences.Count == 0) throw new ArgumentException("a batch needs at least one sequence", nameof(sequences));
        int length = sequences.Max(s => s.Count);
        if (sequences.Any(s => s.Count == 0)) throw new ArgumentException("a sequence is empty", nameof(sequences));
        var tokens = new int[sequences.Count * length];
        var lengths = new int[sequences.Count];
        for (int b = 0; b < sequences.Count; b++)
        {
            var s = sequences[b];
            lengths[b] = s.Count;
            for (int t = 0; t < s.Count; t++)
            {
                if ((uint)s[t] >= (uint)vocabularySize)
                    throw new ArgumentException($"token id {s[t]} is outside the vocabulary of {vocabularySize}", nameof(sequences));
                tokens[b * length + t] = s[t];
            }
        }
        return new TokenBatch(tokens, lengths, length);
    }

    /// <summary>The flattened row of token <paramref name="position"/> of sequence <paramref name="sequence"/>.</summary>
    internal int Row(int sequence, int position) => sequence * Length + position;

    internal int LastRow(int sequence) => Row(sequence, Lengths[sequence] - 1);
}
