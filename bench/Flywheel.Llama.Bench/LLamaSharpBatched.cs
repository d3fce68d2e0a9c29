using System.Diagnostics;
using LLama;
using LLama.Batched;
using LLama.Native;
using LLama.Sampling;

/// <summary>
/// The same workload as a .NET user would write it with LLamaSharp's own high-level API: one BatchedExecutor, a
/// Conversation per prompt that is prompted once and forked into its K candidates (Fork copies the prompt's KV, which
/// LLamaSharp requires the unified KV cache for), as many sequences in flight as the Flywheel runs get.
/// </summary>
internal static class LLamaSharpBatched
{
    public static async Task<double> RunAsync(string modelPath, IReadOnlyList<LLamaToken[]> prompts, int k, int newTokens, int sequences,
        int contextPerSequence, int batch, int threads, bool flashAttention, Func<int, int, DefaultSamplingPipeline> sampler)
    {
        var parameters = BenchModelParams.Create(modelPath, sequences, contextPerSequence, batch, threads, kvUnified: true, flashAttention);
        using var weights = await LLamaWeights.LoadFromFileAsync(parameters);
        using var executor = new BatchedExecutor(weights, parameters);
        var prompting = new List<(Conversation Conversation, int Prompt)>();
        var generating = new List<(Conversation Conversation, DefaultSamplingPipeline Sampler, int Tokens)>();
        int next = 0, reserved = 0;
        long generated = 0;
        var clock = Stopwatch.StartNew();
        while (next < prompts.Count || prompting.Count > 0 || generating.Count > 0)
        {
            while (next < prompts.Count && reserved + k <= sequences)
            {
                var conversation = executor.Create();
                conversation.Prompt(prompts[next]);
                prompting.Add((conversation, next++));
                reserved += k;
            }
            var rc = await executor.Infer();
            if (rc != DecodeResult.Ok) throw new InvalidOperationException($"BatchedExecutor.Infer: {rc}");
            for (int i = prompting.Count - 1; i >= 0; i--)
            {
                var (conversation, prompt) = prompting[i];
                if (!conversation.RequiresSampling) continue;
                prompting.RemoveAt(i);
                for (int c = 0; c < k; c++) generating.Add((c == k - 1 ? conversation : conversation.Fork(), sampler(prompt, c), 0));
            }
            for (int i = generating.Count - 1; i >= 0; i--)
            {
                var (conversation, pipeline, tokens) = generating[i];
                if (!conversation.RequiresSampling) continue;
                var token = pipeline.Sample(executor.Context.NativeHandle, conversation.GetSampleIndex());
                if (token.IsEndOfGeneration(weights.Vocab) || tokens + 1 >= newTokens)
                {
                    if (!token.IsEndOfGeneration(weights.Vocab)) generated++;
                    conversation.Dispose();
                    pipeline.Dispose();
                    generating.RemoveAt(i);
                    reserved--;
                    continue;
                }
                generated++;
                conversation.Prompt(token);
                generating[i] = (conversation, pipeline, tokens + 1);
            }
        }
        return generated / clock.Elapsed.TotalSeconds;
    }
}
