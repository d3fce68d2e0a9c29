namespace Flywheel.Llama.Sampling;

/// <summary>The decode loop's running counts, written by its thread and read by any (<see cref="SamplerStatistics"/>).</summary>
internal sealed class DecodeCounters
{
    private long _decodes, _tokens, _placeholders, _moves, _reused, _busyTicks;

    public void Step(int tokens, int placeholders, TimeSpan busy)
    {
        Interlocked.Increment(ref _decodes);
        Interlocked.Add(ref _tokens, tokens);
        Interlocked.Add(ref _placeholders, placeholders);
        Interlocked.Add(ref _busyTicks, busy.Ticks);
    }

    public void Moved() => Interlocked.Increment(ref _moves);

    public void ReusedPrefix(int tokens) => Interlocked.Add(ref _reused, tokens);

    public SamplerStatistics Snapshot() => new(Interlocked.Read(ref _decodes), Interlocked.Read(ref _tokens),
        Interlocked.Read(ref _placeholders), Interlocked.Read(ref _moves), Interlocked.Read(ref _reused), TimeSpan.FromTicks(Interlocked.Read(ref _busyTicks)));
}
