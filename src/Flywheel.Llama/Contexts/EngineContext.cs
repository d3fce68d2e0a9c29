using LLama.Exceptions;
using LLama.Native;

namespace Flywheel.Llama.Contexts;

/// <summary>Creates llama.cpp contexts (LLamaSharp handles) with validated parameters, and decodes with errors that say why.</summary>
internal static class EngineContext
{
    /// <summary>
    /// A context of <paramref name="sequences"/> KV streams of <paramref name="contextPerSequence"/> tokens each. The
    /// handle holds a reference on the model's handle, so the model's weights outlive every context made from them.
    /// Flash attention as <paramref name="flashAttention"/> says; null: llama.cpp's choice (on where the backend has it).
    /// </summary>
    internal static SafeLLamaContextHandle Create(LlamaModel model, int sequences, int contextPerSequence, int batchTokens, int threads, bool embeddings,
        bool? flashAttention = null)
    {
        int maxSequences = (int)NativeApi.llama_max_parallel_sequences(); // llama.cpp aborts beyond it
        if (sequences < 1 || sequences > maxSequences) throw new ArgumentOutOfRangeException(nameof(sequences), sequences, $"sequences must be 1 to {maxSequences}");
        if (contextPerSequence < 1) throw new ArgumentOutOfRangeException(nameof(contextPerSequence), contextPerSequence, "must be ≥ 1");
        if (batchTokens < 1) throw new ArgumentOutOfRangeException(nameof(batchTokens), batchTokens, "must be ≥ 1");
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "must be ≥ 1");
        long total = (long)sequences * contextPerSequence;
        if (total > int.MaxValue / 2) throw new ArgumentException($"{sequences} sequences × {contextPerSequence} tokens is too large a context");

        var p = LLamaContextParams.Default();
        p.n_ctx = (uint)total;
        p.n_batch = (uint)batchTokens;
        p.n_ubatch = (uint)batchTokens;
        p.n_seq_max = (uint)sequences;
        p.n_threads = threads;
        p.n_threads_batch = threads;
        p.no_perf = true;
        if (flashAttention is bool on)
            p.llama_flash_attn_type = on ? LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_ENABLED : LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
        // Per-sequence KV streams: each candidate attends over its own cells only (faster than one unified cache here).
        p.kv_unified = false;
        p.embeddings = embeddings;
        if (embeddings) p.llama_pooling_type = LLamaPoolingType.Last;
        return Create(model, p, $"{sequences} × {contextPerSequence} tokens");
    }

    /// <summary>A context with the given parameters; <paramref name="what"/> describes it in the error.</summary>
    internal static SafeLLamaContextHandle Create(LlamaModel model, LLamaContextParams parameters, string what)
    {
        LlamaBackend.TakeError();
        try
        {
            return SafeLLamaContextHandle.Create(model.Handle, parameters);
        }
        catch (RuntimeError)
        {
            throw new LlamaException($"{model.Path}: cannot create a context of {what}: {LlamaBackend.TakeError() ?? "out of memory?"}");
        }
    }

    /// <summary>Tokens one sequence holds: llama.cpp rounds each KV stream up to a multiple of 256.</summary>
    internal static int ContextPerSequence(SafeLLamaContextHandle ctx) => (int)(ctx.ContextSize / ctx.MaxSeq);

    internal static void Decode(SafeLLamaContextHandle ctx, LLamaBatch batch)
    {
        var rc = ctx.Decode(batch);
        if (rc != DecodeResult.Ok)
            throw new LlamaException($"llama_decode failed ({rc}) for a batch of {batch.TokenCount} tokens: {LlamaBackend.TakeError() ?? (rc == DecodeResult.NoKvSlot ? "no KV cache slot" : "see the log")}");
    }
}
