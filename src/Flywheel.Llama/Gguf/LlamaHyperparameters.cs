namespace Flywheel.Llama.Gguf;

/// <summary>
/// The shape of a Llama-family model, as GGUF's ARCH.* keys describe it: <c>llama</c> (Llama 2/3, Mistral) or
/// <c>qwen2</c> (Qwen 2/2.5: the llama block with q/k/v biases and rotate-half RoPE).
/// </summary>
public sealed record LlamaHyperparameters
{
    /// <summary>The architectures whose blocks this record describes.</summary>
    public static IReadOnlyList<string> Architectures { get; } = ["llama", "qwen2"];

    /// <summary>GGUF's general.architecture: "llama" or "qwen2".</summary>
    public string Architecture { get; init; } = "llama";

    public int VocabSize { get; init; } = ByteLevelVocabulary.Size;
    public int EmbeddingLength { get; init; } = 64;
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 4;

    /// <summary>Key/value heads; fewer than <see cref="Heads"/> gives grouped-query attention.</summary>
    public int KvHeads { get; init; } = 2;

    public int FeedForwardLength { get; init; } = 192;
    public int ContextLength { get; init; } = 512;
    public float RmsNormEpsilon { get; init; } = 1e-5f;
    public float RopeFreqBase { get; init; } = 10000f;

    /// <summary>When true the model has no output.weight: the token embeddings are reused as the output projection.</summary>
    public bool TiedOutput { get; init; }

    /// <summary>Whether the attention's q, k and v projections have biases (qwen2).</summary>
    public bool QkvBias => Architecture == "qwen2";

    public int HeadDim => EmbeddingLength / Heads;
    public int KvEmbeddingLength => HeadDim * KvHeads;

    public void Validate()
    {
        if (!Architectures.Contains(Architecture))
            throw new ArgumentException($"architecture '{Architecture}' is not one of {string.Join(", ", Architectures)}");
        if (VocabSize < 1 || EmbeddingLength < 1 || Layers < 1 || Heads < 1 || KvHeads < 1 || FeedForwardLength < 1 || ContextLength < 1)
            throw new ArgumentException($"every dimension must be positive: {this}");
        if (EmbeddingLength % Heads != 0) throw new ArgumentException($"embedding length {EmbeddingLength} is not a multiple of {Heads} heads");
        if (Heads % KvHeads != 0) throw new ArgumentException($"{Heads} heads are not a multiple of {KvHeads} KV heads");
        if (HeadDim % 2 != 0) throw new ArgumentException($"head dimension {HeadDim} must be even for RoPE");
    }

    /// <summary>Every tensor of the model with its shape in ggml order, in the order llama.cpp's converter writes them.</summary>
    public IEnumerable<(string Name, long[] Shape)> TensorShapes()
    {
        yield return ("token_embd.weight", [EmbeddingLength, VocabSize]);
        for (int i = 0; i < Layers; i++)
        {
            yield return ($"blk.{i}.attn_norm.weight", [EmbeddingLength]);
            yield return ($"blk.{i}.attn_q.weight", [EmbeddingLength, EmbeddingLength]);
            yield return ($"blk.{i}.attn_k.weight", [EmbeddingLength, KvEmbeddingLength]);
            yield return ($"blk.{i}.attn_v.weight", [EmbeddingLength, KvEmbeddingLength]);
            if (QkvBias)
            {
                yield return ($"blk.{i}.attn_q.bias", [EmbeddingLength]);
                yield return ($"blk.{i}.attn_k.bias", [KvEmbeddingLength]);
                yield return ($"blk.{i}.attn_v.bias", [KvEmbeddingLength]);
            }
            yield return ($"blk.{i}.attn_output.weight", [EmbeddingLength, EmbeddingLength]);
            yield return ($"blk.{i}.ffn_norm.weight", [EmbeddingLength]);
            yield return ($"blk.{i}.ffn_gate.weight", [EmbeddingLength, FeedForwardLength]);
            yield return ($"blk.{i}.ffn_up.weight", [EmbeddingLength, FeedForwardLength]);
            yield return ($"blk.{i}.ffn_down.weight", [FeedForwardLength, EmbeddingLength]);
        }
        yield return ("output_norm.weight", [EmbeddingLength]);
        if (!TiedOutput) yield return ("output.weight", [EmbeddingLength, VocabSize]);
    }

    /// <summary>Writes general.* and ARCH.* metadata.</summary>
    public void AddTo(GgufWriter writer, string name)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Validate();
        string a = Architecture;
        writer.Set("general.architecture", GgufValue.Of(a))
            .Set("general.name", GgufValue.Of(name))
            .Set($"{a}.context_length", GgufValue.Of((uint)ContextLength))
            .Set($"{a}.embedding_length", GgufValue.Of((uint)EmbeddingLength))
            .Set($"{a}.block_count", GgufValue.Of((uint)Layers))
            .Set($"{a}.feed_forward_length", GgufValue.Of((uint)FeedForwardLength))
            .Set($"{a}.attention.head_count", GgufValue.Of((uint)Heads))
            .Set($"{a}.attention.head_count_kv", GgufValue.Of((uint)KvHeads))
            .Set($"{a}.attention.layer_norm_rms_epsilon", GgufValue.Of(RmsNormEpsilon))
            .Set($"{a}.rope.dimension_count", GgufValue.Of((uint)HeadDim))
            .Set($"{a}.rope.freq_base", GgufValue.Of(RopeFreqBase))
            .Set($"{a}.vocab_size", GgufValue.Of((uint)VocabSize));
    }

    /// <summary>Reads the hyperparameters of a llama- or qwen2-architecture GGUF.</summary>
    public static LlamaHyperparameters FromGguf(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        string a = file.Architecture ?? "(none)";
        if (!Architectures.Contains(a))
            throw new LlamaException($"{file.Path}: architecture is '{a}', not one of {string.Join(", ", Architectures)}");
        long Get(string key) => file.Metadata.TryGetValue(key, out var v)
            ? v.AsInt64()
            : throw new LlamaException($"{file.Path}: metadata key '{key}' is missing");
        double GetOr(string key, double fallback) => file.Metadata.TryGetValue(key, out var v) ? v.AsDouble() : fallback;
        int heads = (int)Get($"{a}.attention.head_count");
        var embd = file.FindTensor("token_embd.weight") ?? throw new LlamaException($"{file.Path}: tensor 'token_embd.weight' is missing");
        return new LlamaHyperparameters
        {
            Architecture = a,
            VocabSize = (int)embd.Shape[1],
            EmbeddingLength = (int)Get($"{a}.embedding_length"),
            Layers = (int)Get($"{a}.block_count"),
            Heads = heads,
            KvHeads = file.Metadata.ContainsKey($"{a}.attention.head_count_kv") ? (int)Get($"{a}.attention.head_count_kv") : heads,
            FeedForwardLength = (int)Get($"{a}.feed_forward_length"),
            ContextLength = (int)Get($"{a}.context_length"),
            RmsNormEpsilon = (float)GetOr($"{a}.attention.layer_norm_rms_epsilon", 1e-5),
            RopeFreqBase = (float)GetOr($"{a}.rope.freq_base", 10000),
            TiedOutput = file.FindTensor("output.weight") is null,
        };
    }
}
