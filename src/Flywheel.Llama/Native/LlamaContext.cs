namespace Flywheel.Llama.Native;

/// <summary>Creates llama.cpp contexts with validated parameters and explains failures.</summary>
internal static class LlamaContext
{
    internal static SafeLlamaContextHandle Create(LlamaModel model, int sequences, int contextPerSequence, int batchTokens, int threads, bool embeddings)
    {
        const int maxSequences = 256; // LLAMA_MAX_SEQ in this release; llama.cpp aborts beyond it
        if (sequences is < 1 or > maxSequences) throw new ArgumentOutOfRangeException(nameof(sequences), sequences, $"sequences must be 1 to {maxSequences}");
        if (contextPerSequence < 1) throw new ArgumentOutOfRangeException(nameof(contextPerSequence), contextPerSequence, "must be ≥ 1");
        if (batchTokens < 1) throw new ArgumentOutOfRangeException(nameof(batchTokens), batchTokens, "must be ≥ 1");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "must be ≥ 1");
        long total = (long)sequences * contextPerSequence;
        if (total > int.MaxValue / 2) throw new ArgumentException($"{sequences} sequences × {contextPerSequence} tokens is too large a context");

        var p = LlamaNative.llama_context_default_params();
        p.n_ctx = (uint)total;
        p.n_batch = (uint)batchTokens;
        p.n_ubatch = (uint)batchTokens;
        p.n_seq_max = (uint)sequences;
        p.n_threads = threads;
        p.n_threads_batch = threads;
        p.no_perf = 1;
        // Per-sequence KV streams: each candidate attends over its own cells only (faster than one unified cache here).
        p.kv_unified = 0;
        p.embeddings = embeddings ? (byte)1 : (byte)0;
        if (embeddings) p.pooling_type = LlamaPoolingType.Last;
        LlamaBackend.TakeError();
        IntPtr ctx = LlamaNative.llama_init_from_model(model.Handle, p);
        if (ctx == IntPtr.Zero)
            throw new LlamaException($"{model.Path}: cannot create a context of {sequences} × {contextPerSequence} tokens: {LlamaBackend.TakeError() ?? "out of memory?"}");
        return new SafeLlamaContextHandle(ctx);
    }

    internal static void Decode(SafeLlamaContextHandle ctx, SafeLlamaBatchHandle batch)
    {
        int rc = LlamaNative.llama_decode(ctx, batch.Batch);
        if (rc != 0)
            throw new LlamaException($"llama_decode failed with code {rc} for a batch of {batch.Count} tokens: {LlamaBackend.TakeError() ?? (rc == 1 ? "no KV cache slot" : "see the log")}");
    }
}
