using System.Diagnostics;
using LLama;
using LLama.Native;

/// <summary>
/// What llama-batched-bench measures, on the llama.cpp that Flywheel runs (LLamaSharp's): <c>sequences</c> prompts of
/// <c>promptTokens</c> evaluated in batches of <c>batch</c> tokens, then <c>newTokens</c> steps that each decode one
/// token for every sequence (logits out, nothing sampled), with Flywheel's context settings (a KV stream per
/// sequence). The prompt and generation rates are the ceiling the scheduler works under on this engine.
/// </summary>
internal static class DecodeCeiling
{
    public static async Task<(double PromptPerSecond, double GeneratedPerSecond)> RunAsync(string modelPath, int promptTokens,
        int newTokens, int sequences, int contextPerSequence, int batch, int threads, bool flashAttention)
    {
        var parameters = BenchModelParams.Create(modelPath, sequences, contextPerSequence, batch, threads, kvUnified: false, flashAttention);
        using var weights = await LLamaWeights.LoadFromFileAsync(parameters);
        using var context = weights.CreateContext(parameters);
        var ctx = context.NativeHandle;
        var batchOf = new LLamaBatch();
        // batched-bench's prompt: token ids drawn from the vocabulary, the same for every sequence, each evaluated apart.
        var random = new Random(1);
        var prompt = Enumerable.Range(0, promptTokens).Select(_ => (LLamaToken)random.Next(weights.Vocab.Count)).ToArray();
        var clock = Stopwatch.StartNew();
        for (int seq = 0; seq < sequences; seq++)
            for (int i = 0; i < promptTokens; i++)
            {
                batchOf.Add(prompt[i], i, (LLamaSeqId)seq, i == promptTokens - 1);
                if (batchOf.TokenCount == batch) Decode(ctx, batchOf);
            }
        if (batchOf.TokenCount > 0) Decode(ctx, batchOf);
        double promptSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        for (int step = 0; step < newTokens; step++)
        {
            for (int seq = 0; seq < sequences; seq++) batchOf.Add(prompt[(step + seq) % promptTokens], promptTokens + step, (LLamaSeqId)seq, true);
            Decode(ctx, batchOf);
        }
        return (sequences * promptTokens / promptSeconds, (double)sequences * newTokens / clock.Elapsed.TotalSeconds);
    }

    private static void Decode(SafeLLamaContextHandle ctx, LLamaBatch batch)
    {
        var rc = ctx.Decode(batch);
        if (rc != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode: {rc}");
        batch.Clear();
    }
}
