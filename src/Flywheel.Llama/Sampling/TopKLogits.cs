using System.Numerics;
using System.Runtime.InteropServices;
using LLama.Native;

namespace Flywheel.Llama.Sampling;

/// <summary>The k largest logits of a vocabulary-sized row, in one vectorised pass.</summary>
internal static class TopKLogits
{
    /// <summary>
    /// Fills <paramref name="top"/> (length k ≤ logits) with the k largest logits, highest first, ties in vocabulary
    /// order, as llama.cpp's top-k leaves them (probabilities zero). A min-heap of the best k so far sets a threshold;
    /// whole vectors of logits at or below it are skipped, and after the first few hundred entries nearly all are.
    /// </summary>
    public static void Select(ReadOnlySpan<float> logits, Span<LLamaTokenData> top)
    {
        int k = top.Length;
        if (k < 1 || k > logits.Length) throw new ArgumentOutOfRangeException(nameof(top), k, $"k must be 1 to {logits.Length}");
        for (int i = 0; i < k; i++) top[i] = new LLamaTokenData((LLamaToken)i, logits[i], 0);
        for (int i = k / 2 - 1; i >= 0; i--) SiftDown(top, i);

        float threshold = top[0].Logit;
        int v = k;
        if (Vector.IsHardwareAccelerated)
        {
            var rows = MemoryMarshal.Cast<float, Vector<float>>(logits[k..]);
            for (int r = 0; r < rows.Length; r++)
            {
                if (!Vector.GreaterThanAny(rows[r], new Vector<float>(threshold))) continue;
                int start = k + r * Vector<float>.Count;
                for (int i = start; i < start + Vector<float>.Count; i++) Offer(top, logits, i, ref threshold);
            }
            v = k + rows.Length * Vector<float>.Count;
        }
        for (int i = v; i < logits.Length; i++) Offer(top, logits, i, ref threshold);

        top.Sort(static (a, b) => a.Logit != b.Logit ? b.Logit.CompareTo(a.Logit) : ((int)a.ID).CompareTo((int)b.ID));
    }

    private static void Offer(Span<LLamaTokenData> heap, ReadOnlySpan<float> logits, int i, ref float threshold)
    {
        // Strictly greater: a later token never displaces an equal earlier one.
        if (!(logits[i] > threshold)) return;
        heap[0] = new LLamaTokenData((LLamaToken)i, logits[i], 0);
        SiftDown(heap, 0);
        threshold = heap[0].Logit;
    }

    /// <summary>Min-heap on (logit, then later token first), so the root is the entry to give up next.</summary>
    private static void SiftDown(Span<LLamaTokenData> heap, int i)
    {
        while (true)
        {
            int smallest = i, left = 2 * i + 1, right = left + 1;
            if (left < heap.Length && Worse(heap[left], heap[smallest])) smallest = left;
            if (right < heap.Length && Worse(heap[right], heap[smallest])) smallest = right;
            if (smallest == i) return;
            (heap[i], heap[smallest]) = (heap[smallest], heap[i]);
            i = smallest;
        }
    }

    private static bool Worse(LLamaTokenData a, LLamaTokenData b) =>
        a.Logit < b.Logit || (a.Logit == b.Logit && (int)a.ID > (int)b.ID);
}
