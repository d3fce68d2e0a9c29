using Flywheel.Llama.Native;

namespace Flywheel.Llama.Embedding;

/// <summary>Options for <see cref="LastTokenEmbedder"/>.</summary>
public sealed record EmbedderOptions
{
    /// <summary>Sequences embedded in one decode call.</summary>
    public int Sequences { get; init; } = 64;

    /// <summary>Longest sequence, in tokens.</summary>
    public int ContextPerSequence { get; init; } = 512;

    /// <summary>Most tokens in one decode call; at least <see cref="ContextPerSequence"/>.</summary>
    public int BatchTokens { get; init; } = 2048;

    public int? Threads { get; init; }
}

/// <summary>
/// The final-norm hidden state of each sequence's last token (llama.cpp's LAST pooling): what a reward head reads.
/// Sequences are packed into as few decode calls as the batch allows. Not thread-safe: one caller at a time.
/// </summary>
public sealed class LastTokenEmbedder : IDisposable
{
    private readonly LlamaModel _model;
    private readonly EmbedderOptions _options;
    private readonly SafeLlamaContextHandle _ctx;
    private readonly SafeLlamaBatchHandle _batch;

    public LastTokenEmbedder(LlamaModel model, EmbedderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _options = options ?? new EmbedderOptions();
        if (_options.BatchTokens < _options.ContextPerSequence)
            throw new ArgumentException($"batch tokens ({_options.BatchTokens}) must hold the longest sequence ({_options.ContextPerSequence}): a sequence is embedded in one call");
        _ctx = LlamaContext.Create(model, _options.Sequences, _options.ContextPerSequence, _options.BatchTokens,
            _options.Threads ?? LlamaBackend.DefaultThreadCount, embeddings: true);
        _batch = new SafeLlamaBatchHandle(_options.BatchTokens, 1);
        MaxSequenceLength = Math.Min((int)LlamaNative.llama_n_ctx_seq(_ctx), _options.BatchTokens);
    }

    /// <summary>Length of the vectors returned.</summary>
    public int Dimension => _model.EmbeddingLength;

    public int MaxSequenceLength { get; }

    /// <summary>One vector per sequence, in order.</summary>
    public unsafe float[][] Embed(IReadOnlyList<IReadOnlyList<int>> sequences, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        for (int i = 0; i < sequences.Count; i++)
        {
            var s = sequences[i];
            if (s is null || s.Count == 0) throw new ArgumentException($"sequence {i} is empty", nameof(sequences));
            if (s.Count > MaxSequenceLength) throw new LlamaException($"sequence {i} has {s.Count} tokens; the embedder holds {MaxSequenceLength} per sequence");
            foreach (int t in s)
                if ((uint)t >= (uint)_model.Vocabulary.Count) throw new ArgumentException($"sequence {i} has token id {t}, outside the vocabulary", nameof(sequences));
        }
        var result = new float[sequences.Count][];
        IntPtr memory = LlamaNative.llama_get_memory(_ctx);
        int next = 0;
        while (next < sequences.Count)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _batch.Clear();
            int first = next;
            while (next < sequences.Count && next - first < _options.Sequences && _batch.Count + sequences[next].Count <= _batch.Capacity)
            {
                var s = sequences[next];
                for (int p = 0; p < s.Count; p++) _batch.Add(s[p], p, next - first, p == s.Count - 1);
                next++;
            }
            LlamaContext.Decode(_ctx, _batch);
            for (int i = first; i < next; i++)
            {
                float* e = LlamaNative.llama_get_embeddings_seq(_ctx, i - first);
                if (e == null) throw new LlamaException($"{_model.Path}: llama.cpp returned no embedding for sequence {i}");
                result[i] = new ReadOnlySpan<float>(e, Dimension).ToArray();
            }
            LlamaNative.llama_memory_clear(memory, true);
        }
        return result;
    }

    public void Dispose()
    {
        _batch.Dispose();
        _ctx.Dispose();
    }
}
