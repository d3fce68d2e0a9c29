namespace Flywheel.Training.Data;

/// <summary>
/// Sequences of a micro-batch laid out without padding: their tokens concatenated (every projection, the MLPs and the
/// output run on real tokens only), with each token's position in its own sequence. Attention alone needs rows:
/// sequences are packed first-fit, longest first, into rows as long as the longest, and a token attends only to
/// earlier tokens of its own sequence (the slack at a row's end attends to itself, so no softmax row is empty).
/// </summary>
internal sealed class PackedBatch
{
    internal PackedBatch(IReadOnlyList<int[]> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        if (sequences.Count == 0) throw new ArgumentException("a batch needs at least one sequence", nameof(sequences));
        Count = sequences.Count;
        Offsets = new int[Count + 1];
        for (int s = 0; s < Count; s++)
        {
            if (sequences[s].Length == 0) throw new ArgumentException($"sequence {s} is empty", nameof(sequences));
            Offsets[s + 1] = Offsets[s] + sequences[s].Length;
        }
        Tokens = new long[Offsets[Count]];
        Positions = new long[Tokens.Length];
        for (int s = 0; s < Count; s++)
            for (int t = 0; t < sequences[s].Length; t++)
            {
                Tokens[Offsets[s] + t] = sequences[s][t];
                Positions[Offsets[s] + t] = t;
            }

        RowLength = sequences.Max(q => q.Length);
        var fill = new List<int>();
        var slots = new long[Tokens.Length];
        var rowSegments = new List<long[]>();
        foreach (int s in Enumerable.Range(0, Count).OrderByDescending(s => sequences[s].Length))
        {
            int length = sequences[s].Length;
            int row = fill.FindIndex(f => f + length <= RowLength);
            if (row < 0)
            {
                row = fill.Count;
                fill.Add(0);
                rowSegments.Add(new long[RowLength]);
            }
            for (int t = 0; t < length; t++)
            {
                slots[Offsets[s] + t] = (long)row * RowLength + fill[row] + t;
                rowSegments[row][fill[row] + t] = s;
            }
            fill[row] += length;
        }
        Rows = fill.Count;
        Slots = slots;
        Segments = new long[Rows * RowLength];
        for (int r = 0; r < Rows; r++)
            for (int c = 0; c < RowLength; c++)
                Segments[r * RowLength + c] = c < fill[r] ? rowSegments[r][c] : -1 - (r * RowLength + c);
    }

    /// <summary>Sequences in the batch.</summary>
    internal int Count { get; }

    /// <summary>Start of each sequence in <see cref="Tokens"/>, and the total at the end.</summary>
    internal int[] Offsets { get; }

    internal long[] Tokens { get; }

    internal long[] Positions { get; }

    /// <summary>Where each token sits in the attention rows: row × <see cref="RowLength"/> + column.</summary>
    internal long[] Slots { get; }

    /// <summary>The sequence each attention slot holds, or a unique negative number for slack.</summary>
    internal long[] Segments { get; }

    internal int Rows { get; }

    internal int RowLength { get; }

    /// <summary>Flat index of sequence <paramref name="s"/>'s last token.</summary>
    internal int Last(int s) => Offsets[s + 1] - 1;

    /// <summary>Whether attention needs no rows: one sequence alone.</summary>
    internal bool Single => Count == 1;
}
