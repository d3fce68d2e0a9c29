namespace Flywheel.Llama.Sampling;

/// <summary>Finds the first stop string that the text's newest characters complete.</summary>
internal sealed class StopStringMatcher(IReadOnlyList<string> stops)
{
    /// <summary>
    /// Where a stop string starts, when one ends in the characters appended after <paramref name="before"/> (only those
    /// can complete a new match); -1 when none does.
    /// </summary>
    public int Find(Utf8StreamDecoder text, int before)
    {
        foreach (string stop in stops)
        {
            int from = Math.Max(0, before - stop.Length + 1);
            int at = text.Tail(from).IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0) return from + at;
        }
        return -1;
    }
}
