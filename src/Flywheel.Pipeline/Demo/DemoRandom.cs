namespace Flywheel.Pipeline.Demo;

/// <summary>
/// SplitMix64: the demo's data must be the same bytes on every machine and .NET version, which System.Random's
/// seeded sequence does not promise.
/// </summary>
internal sealed class DemoRandom(ulong seed)
{
    private ulong _state = seed;

    internal ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, n).</summary>
    internal int Next(int n) => (int)(Next() % (ulong)n);

    internal double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    internal void Shuffle<T>(T[] items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
