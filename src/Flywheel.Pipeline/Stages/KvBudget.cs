using System.Globalization;
using Flywheel.Llama;
using Flywheel.Pipeline.Config;

namespace Flywheel.Pipeline.Stages;

/// <summary>
/// The memory sampling may give llama.cpp's KV cache ($.sampling.kv_memory_gib, default half the machine's memory),
/// checked before a context is allocated: a context that does not fit is refused with what to lower, rather than
/// failing inside llama.cpp or swapping the machine to a halt.
/// </summary>
internal static class KvBudget
{
    /// <summary>The budget in bytes: the config's, else half the memory this process may use (a container's limit included).</summary>
    public static long Bytes(SamplingConfig sampling) =>
        sampling.KvMemoryGib is double gib ? (long)(gib * (1L << 30)) : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;

    /// <summary>Throws <see cref="ConfigException"/> where <paramref name="sequences"/> × <paramref name="contextPerSequence"/> tokens of KV exceed the budget.</summary>
    public static void Check(LlamaModel model, SamplingConfig sampling, int sequences, int contextPerSequence)
    {
        var kv = model.KvCache;
        long needed = kv.Bytes(sequences, contextPerSequence);
        long budget = Bytes(sampling);
        if (needed <= budget) return;
        throw new ConfigException(string.Create(CultureInfo.InvariantCulture,
            $"sampling needs {Size(needed)} of KV cache ({sequences} sequences × {KvCacheSize.PaddedContext(contextPerSequence):N0} tokens × {Size(kv.BytesPerToken)}); " +
            $"the budget is {Size(budget)}: lower sampling.sequences or sampling.max_new_tokens, or raise sampling.kv_memory_gib"));
    }

    /// <summary>Bytes in the largest binary unit that leaves at least 1 (a tiny test model's cache is KiB, a real one's GiB).</summary>
    private static string Size(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }
}
