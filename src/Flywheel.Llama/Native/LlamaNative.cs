using System.Runtime.InteropServices;

namespace Flywheel.Llama.Native;

/// <summary>P/Invoke for the parts of llama.h that Flywheel uses. The library name is resolved by <see cref="NativeLibraryLoader"/>.</summary>
internal static unsafe partial class LlamaNative
{
    internal const string Library = "llama";

    [LibraryImport(Library)] internal static partial LlamaModelParams llama_model_default_params();
    [LibraryImport(Library)] internal static partial LlamaContextParams llama_context_default_params();
    [LibraryImport(Library)] internal static partial void llama_backend_init();
    [LibraryImport(Library)] internal static partial void llama_log_set(delegate* unmanaged[Cdecl]<GgmlLogLevel, byte*, IntPtr, void> callback, IntPtr userData);

    // Model
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr llama_model_load_from_file(string path, LlamaModelParams @params);
    [LibraryImport(Library)] internal static partial void llama_model_free(IntPtr model);
    [LibraryImport(Library)] internal static partial IntPtr llama_model_get_vocab(SafeLlamaModelHandle model);
    [LibraryImport(Library)] internal static partial int llama_model_n_ctx_train(SafeLlamaModelHandle model);
    [LibraryImport(Library)] internal static partial int llama_model_n_embd(SafeLlamaModelHandle model);
    [LibraryImport(Library)] internal static partial int llama_model_n_layer(SafeLlamaModelHandle model);
    [LibraryImport(Library)] internal static partial ulong llama_model_size(SafeLlamaModelHandle model);
    [LibraryImport(Library)] internal static partial ulong llama_model_n_params(SafeLlamaModelHandle model);
    [LibraryImport(Library)] internal static partial int llama_model_desc(SafeLlamaModelHandle model, byte* buf, nuint bufSize);
    [LibraryImport(Library)] internal static partial int llama_model_meta_count(SafeLlamaModelHandle model);
    [LibraryImport(Library)] internal static partial int llama_model_meta_key_by_index(SafeLlamaModelHandle model, int i, byte* buf, nuint bufSize);
    [LibraryImport(Library)] internal static partial int llama_model_meta_val_str_by_index(SafeLlamaModelHandle model, int i, byte* buf, nuint bufSize);
    [LibraryImport(Library)] internal static partial byte* llama_model_chat_template(SafeLlamaModelHandle model, byte* name);

    // Context
    [LibraryImport(Library)] internal static partial IntPtr llama_init_from_model(SafeLlamaModelHandle model, LlamaContextParams @params);
    [LibraryImport(Library)] internal static partial void llama_free(IntPtr ctx);
    [LibraryImport(Library)] internal static partial uint llama_n_ctx_seq(SafeLlamaContextHandle ctx);
    [LibraryImport(Library)] internal static partial IntPtr llama_get_memory(SafeLlamaContextHandle ctx);
    [LibraryImport(Library)] internal static partial int llama_decode(SafeLlamaContextHandle ctx, LlamaBatch batch);
    [LibraryImport(Library)] internal static partial float* llama_get_logits_ith(SafeLlamaContextHandle ctx, int i);
    [LibraryImport(Library)] internal static partial float* llama_get_embeddings_seq(SafeLlamaContextHandle ctx, int seqId);

    // Memory (KV cache)
    [LibraryImport(Library)] internal static partial void llama_memory_clear(IntPtr mem, [MarshalAs(UnmanagedType.U1)] bool data);
    [LibraryImport(Library)] [return: MarshalAs(UnmanagedType.U1)] internal static partial bool llama_memory_seq_rm(IntPtr mem, int seqId, int p0, int p1);
    [LibraryImport(Library)] internal static partial void llama_memory_seq_cp(IntPtr mem, int seqIdSrc, int seqIdDst, int p0, int p1);

    // Batch
    [LibraryImport(Library)] internal static partial LlamaBatch llama_batch_init(int nTokens, int embd, int nSeqMax);
    [LibraryImport(Library)] internal static partial void llama_batch_free(LlamaBatch batch);

    // Vocabulary
    [LibraryImport(Library)] internal static partial int llama_vocab_type(IntPtr vocab);
    [LibraryImport(Library)] internal static partial int llama_vocab_n_tokens(IntPtr vocab);
    [LibraryImport(Library)] internal static partial byte* llama_vocab_get_text(IntPtr vocab, int token);
    [LibraryImport(Library)] [return: MarshalAs(UnmanagedType.U1)] internal static partial bool llama_vocab_is_eog(IntPtr vocab, int token);
    [LibraryImport(Library)] [return: MarshalAs(UnmanagedType.U1)] internal static partial bool llama_vocab_is_control(IntPtr vocab, int token);
    [LibraryImport(Library)] internal static partial int llama_vocab_bos(IntPtr vocab);
    [LibraryImport(Library)] internal static partial int llama_vocab_eos(IntPtr vocab);
    [LibraryImport(Library)] internal static partial int llama_vocab_eot(IntPtr vocab);
    [LibraryImport(Library)] [return: MarshalAs(UnmanagedType.U1)] internal static partial bool llama_vocab_get_add_bos(IntPtr vocab);
    [LibraryImport(Library)] [return: MarshalAs(UnmanagedType.U1)] internal static partial bool llama_vocab_get_add_eos(IntPtr vocab);
    [LibraryImport(Library)]
    internal static partial int llama_tokenize(IntPtr vocab, byte* text, int textLen, int* tokens, int nTokensMax,
        [MarshalAs(UnmanagedType.U1)] bool addSpecial, [MarshalAs(UnmanagedType.U1)] bool parseSpecial);
    [LibraryImport(Library)]
    internal static partial int llama_token_to_piece(IntPtr vocab, int token, byte* buf, int length, int lstrip, [MarshalAs(UnmanagedType.U1)] bool special);

    // Chat templates
    [LibraryImport(Library)]
    internal static partial int llama_chat_apply_template(byte* tmpl, LlamaChatMessage* chat, nuint nMsg, [MarshalAs(UnmanagedType.U1)] bool addAssistant, byte* buf, int length);
    [LibraryImport(Library)] internal static partial int llama_chat_builtin_templates(byte** output, nuint len);

    // Samplers
    [LibraryImport(Library)] internal static partial IntPtr llama_sampler_chain_init(LlamaSamplerChainParams @params);
    [LibraryImport(Library)] internal static partial void llama_sampler_chain_add(SafeLlamaSamplerHandle chain, IntPtr sampler);
    [LibraryImport(Library)] internal static partial IntPtr llama_sampler_init_greedy();
    [LibraryImport(Library)] internal static partial IntPtr llama_sampler_init_dist(uint seed);
    [LibraryImport(Library)] internal static partial IntPtr llama_sampler_init_top_k(int k);
    [LibraryImport(Library)] internal static partial IntPtr llama_sampler_init_top_p(float p, nuint minKeep);
    [LibraryImport(Library)] internal static partial IntPtr llama_sampler_init_min_p(float p, nuint minKeep);
    [LibraryImport(Library)] internal static partial IntPtr llama_sampler_init_temp(float t);
    [LibraryImport(Library)] internal static partial int llama_sampler_sample(SafeLlamaSamplerHandle sampler, SafeLlamaContextHandle ctx, int idx);
    [LibraryImport(Library)] internal static partial void llama_sampler_free(IntPtr sampler);

    internal static string? Utf8(byte* p) => p == null ? null : Marshal.PtrToStringUTF8((IntPtr)p);

    internal delegate int StringWriter(byte* buffer, nuint size);

    /// <summary>Calls a llama.cpp "write a string into buf, return its full length" function, growing the buffer as needed.</summary>
    internal static string ReadString(StringWriter write)
    {
        var buffer = new byte[256];
        while (true)
        {
            int n;
            fixed (byte* p = buffer) n = write(p, (nuint)buffer.Length);
            if (n < 0) return string.Empty;
            if (n < buffer.Length) return System.Text.Encoding.UTF8.GetString(buffer, 0, n);
            buffer = new byte[n + 1];
        }
    }
}
