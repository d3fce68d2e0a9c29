namespace Flywheel.Llama.Sampling;

/// <summary>How candidates are sampled. Each filter is off at its neutral value (TopK 0, TopP 1, MinP 0).</summary>
public sealed record SamplingOptions
{
    /// <summary>Softmax temperature; 0 samples greedily (the most likely token every step).</summary>
    public float Temperature { get; init; } = 0.8f;

    public int TopK { get; init; } = 40;
    public float TopP { get; init; } = 0.95f;
    public float MinP { get; init; } = 0.05f;
    public int MaxNewTokens { get; init; } = 128;

    /// <summary>Generation stops when the text contains one of these; the text is cut before it.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    public static SamplingOptions Greedy { get; } = new() { Temperature = 0 };

    internal void Validate()
    {
        if (!(Temperature >= 0) || float.IsInfinity(Temperature)) throw new ArgumentException($"temperature must be ≥ 0, got {Temperature}");
        if (TopK < 0) throw new ArgumentException($"top-k must be ≥ 0, got {TopK}");
        if (!(TopP is > 0 and <= 1)) throw new ArgumentException($"top-p must be in (0, 1], got {TopP}");
        if (!(MinP is >= 0 and < 1)) throw new ArgumentException($"min-p must be in [0, 1), got {MinP}");
        if (MaxNewTokens < 1) throw new ArgumentException($"max new tokens must be ≥ 1, got {MaxNewTokens}");
        if (StopStrings.Any(string.IsNullOrEmpty)) throw new ArgumentException("stop strings must not be empty");
    }
}

/// <summary>Why a candidate stopped.</summary>
public enum FinishReason
{
    /// <summary>The model produced an end-of-generation token (EOS, EOT, …), which is not part of the output.</summary>
    EndOfGeneration,

    /// <summary>The text reached a stop string.</summary>
    StopString,

    /// <summary>The candidate reached the maximum number of new tokens.</summary>
    Length,
}

/// <summary>K candidates for one prompt.</summary>
public sealed record GenerationRequest
{
    /// <summary>The prompt, already tokenized (BOS included when the model wants one).</summary>
    public required IReadOnlyList<int> PromptTokens { get; init; }

    public int Candidates { get; init; } = 1;
    public SamplingOptions Sampling { get; init; } = new();

    /// <summary>Candidate i samples with seed <see cref="CandidateSeed"/>(Seed, i): the same request gives the same candidates.</summary>
    public ulong Seed { get; init; }

    /// <summary>The caller's handle for this request (a prompt id, say); returned with the result.</summary>
    public object? Tag { get; init; }

    /// <summary>The sampler seed of candidate <paramref name="candidate"/> (SplitMix64 of the request seed and index).</summary>
    public static uint CandidateSeed(ulong seed, int candidate)
    {
        ulong z = seed + (ulong)(candidate + 1) * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (uint)(z ^ (z >> 31));
    }
}

/// <summary>
/// One generated candidate: <see cref="Tokens"/> are the tokens it generated as sampled, without the end-of-generation
/// token and, when it stopped at a stop string, without the tokens from the one that reached into it.
/// </summary>
public sealed record GeneratedCandidate(int Index, string Text, IReadOnlyList<int> Tokens, FinishReason FinishReason)
{
    public int TokenCount => Tokens.Count;
}

/// <summary>The candidates of one request, in candidate order.</summary>
public sealed record GenerationResult(GenerationRequest Request, IReadOnlyList<GeneratedCandidate> Candidates);

/// <summary>Options for <see cref="BatchedSampler"/>.</summary>
public sealed record BatchedSamplerOptions
{
    /// <summary>Sequences decoded together (slots); a request holds K of them while it generates.</summary>
    public int Sequences { get; init; } = 64;

    /// <summary>Tokens each sequence may hold: prompt plus new tokens (llama.cpp rounds it up to a multiple of 256).</summary>
    public int ContextPerSequence { get; init; } = 512;

    /// <summary>Most tokens in one decode call (prompt chunks and one token per generating sequence).</summary>
    public int BatchTokens { get; init; } = 512;

    /// <summary>CPU threads; default: the cores free now.</summary>
    public int? Threads { get; init; }

    /// <summary>
    /// Evaluate each prompt once and copy its KV cache to the K candidates, starting from the longest prefix it shares
    /// with a prompt in flight (true); or evaluate it whole once per candidate.
    /// </summary>
    public bool SharePromptKv { get; init; } = true;

    /// <summary>
    /// llama.cpp's flash attention: 4–17% more tokens/s on the CPU bench, but it rounds a prompt's tokens differently
    /// when the prompt is evaluated in other pieces, and those depend on what else is in flight (the batch's room, a
    /// prefix reused from another request). Off, a request's candidates depend only on it, its seed and the model, so
    /// a resumed run samples what an uninterrupted one does.
    /// </summary>
    public bool FlashAttention { get; init; }
}
