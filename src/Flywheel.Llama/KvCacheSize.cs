using Flywheel.Llama.Gguf;

namespace Flywheel.Llama;

/// <summary>
/// The KV cache a model needs per token, from its GGUF hyperparameters: computed before llama.cpp allocates it, so a
/// context too large for the machine is refused with a reason instead of failing (or swapping) inside llama.cpp.
/// </summary>
public sealed record KvCacheSize(int Layers, int KvHeads, int KeyLength, int ValueLength)
{
    /// <summary>Bytes of one cache element: f16, LLamaSharp's default type_k and type_v.</summary>
    public const int ElementBytes = 2;

    /// <summary>llama.cpp rounds each sequence's KV stream up to a multiple of this many tokens.</summary>
    public const int Padding = 256;

    /// <summary>Keys and values of every layer for one token.</summary>
    public long BytesPerToken => (long)Layers * KvHeads * (KeyLength + ValueLength) * ElementBytes;

    /// <summary>Tokens llama.cpp gives a sequence asked for <paramref name="contextPerSequence"/>.</summary>
    public static int PaddedContext(int contextPerSequence) => (contextPerSequence + Padding - 1) / Padding * Padding;

    /// <summary>The cache of <paramref name="sequences"/> streams of <paramref name="contextPerSequence"/> tokens each.</summary>
    public long Bytes(int sequences, int contextPerSequence) => sequences * (long)PaddedContext(contextPerSequence) * BytesPerToken;

    /// <summary>Reads <c>ARCH.block_count</c>, <c>ARCH.attention.head_count_kv</c> and the key and value lengths (head dimension by default).</summary>
    public static KvCacheSize FromGguf(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        string a = file.Architecture ?? throw new LlamaException($"{file.Path}: GGUF has no general.architecture");
        int? Find(string key) => file.Metadata.TryGetValue($"{a}.{key}", out var v) ? (int)v.AsInt64() : null;
        int Get(string key) => Find(key) ?? throw new LlamaException($"{file.Path}: metadata key '{a}.{key}' is missing");
        int heads = Get("attention.head_count");
        int headDim = Get("embedding_length") / heads;
        return new KvCacheSize(Get("block_count"), Find("attention.head_count_kv") ?? heads,
            Find("attention.key_length") ?? headDim, Find("attention.value_length") ?? headDim);
    }
}
