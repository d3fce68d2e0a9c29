using Flywheel.Llama.Contexts;
using LLama.Native;

namespace Flywheel.Llama.Embedding;

/// <summary>Options for <see cref="LastTokenEmbedder"/>.</summary>
public sealed record EmbedderOptions
{
    /// <summary>Sequences evaluated together, one KV stream each; what they start with in common is evaluated once.</summary>
    public int Sequences { get; init; } = 64;

    /// <summary>Longest sequence, in tokens.</summary>
    public int ContextPerSequence { get; init; } = 512;

    /// <summary>Most tokens in one decode call; at least <see cref="ContextPerSequence"/>.</summary>
    public int BatchTokens { get; init; } = 2048;

    public int? Threads { get; init; }
}

/// <summary>
/// The final-norm hidden state of each sequence's last token (llama.cpp's LAST pooling): what a reward head reads.
/// Sequences go in groups of <see cref="EmbedderOptions.Sequences"/>; what a group's sequences start with in common is
/// evaluated once, and the rest packed into as few decode calls as the batch allows. Not thread-safe: one caller at a time.
/// </summary>
public sealed class LastTokenEmbedder : IDisposable
{
    private readonly LlamaModel _model;
    private readonly EmbedderOptions _options;
    private readonly SafeLLamaContextHandle _ctx;
    private readonly LLamaBatch _batch = new();

    public LastTokenEmbedder(LlamaModel model, EmbedderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _options = options ?? new EmbedderOptions();
        if (_options.BatchTokens < _options.ContextPerSequence)
            throw new ArgumentException($"batch tokens ({_options.BatchTokens}) must hold the longest sequence ({_options.ContextPerSequence}): a sequence is embedded in one call");
        _ctx = EngineContext.Create(model, _options.Sequences, _options.ContextPerSequence, _options.BatchTokens,
            _options.Threads ?? LlamaBackend.DefaultThreadCount, embeddings: true);
        MaxSequenceLength = Math.Min(EngineContext.ContextPerSequence(_ctx), _options.BatchTokens);
    }

    /// <summary>Length of the vectors returned.</summary>
    public int Dimension => _model.EmbeddingLength;

    public int MaxSequenceLength { get; }

    /// <summary>Tokens evaluated since creation: tests read it to see a shared prefix evaluated once.</summary>
    internal long TokensDecoded { get; private set; }

    /// <summary>One vector per sequence, in order.</summary>
    public float[][] Embed(IReadOnlyList<IReadOnlyList<int>> sequences, CancellationToken cancellationToken = default)
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
        ObjectDisposedException.ThrowIf(_ctx.IsClosed, this);
        var result = new float[sequences.Count][];
        for (int first = 0; first < sequences.Count; first += _options.Sequences)
        {
            int count = Math.Min(_options.Sequences, sequences.Count - first);
            try
            {
                int shared = SharedPrefixLength(sequences, first, count);
                if ((count - 1) * shared < MinTokensSavedBySharing) shared = 0;
                if (shared > 0) DecodePrefix(sequences[first], shared, count, cancellationToken);
                DecodeRest(sequences, first, count, shared, result, cancellationToken);
            }
            finally
            {
                _ctx.MemoryClear(true);
            }
        }
        return result;
    }

    // Sharing costs a decode call of its own, ~0.2 ms in the pipeline bench's 64-wide model (sharing only BOS made its
    // 20,000 scoring calls ~5% slower): a prefix that saves fewer tokens, like unrelated prompts' BOS, is not worth it.
    private const int MinTokensSavedBySharing = 64;

    /// <summary>
    /// Tokens every sequence of the group starts with, short of the shortest one's last token (whose hidden state is
    /// its embedding). K replies to one prompt share the prompt: it is evaluated once, not K times.
    /// </summary>
    private static int SharedPrefixLength(IReadOnlyList<IReadOnlyList<int>> sequences, int first, int count)
    {
        if (count < 2) return 0;
        var head = sequences[first];
        int length = head.Count - 1;
        for (int i = first + 1; i < first + count && length > 0; i++)
        {
            var s = sequences[i];
            length = Math.Min(length, s.Count - 1);
            for (int p = 0; p < length; p++)
                if (s[p] != head[p]) { length = p; break; }
        }
        return length;
    }

    /// <summary>Evaluates the shared prefix as sequence 0 and copies its KV cache to the group's other sequences.</summary>
    private void DecodePrefix(IReadOnlyList<int> head, int length, int count, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _batch.Clear();
        for (int p = 0; p < length; p++) _batch.Add(head[p], p, (LLamaSeqId)0, false);
        Decode();
        for (int seq = 1; seq < count; seq++) _ctx.MemorySequenceCopy((LLamaSeqId)0, (LLamaSeqId)seq, -1, -1);
    }

    /// <summary>Evaluates each sequence from <paramref name="from"/> on, as many whole ones per decode call as fit.</summary>
    private void DecodeRest(IReadOnlyList<IReadOnlyList<int>> sequences, int first, int count, int from, float[][] result, CancellationToken cancellationToken)
    {
        int next = first, end = first + count;
        while (next < end)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _batch.Clear();
            int start = next;
            while (next < end && _batch.TokenCount + sequences[next].Count - from <= _options.BatchTokens)
            {
                var s = sequences[next];
                for (int p = from; p < s.Count; p++) _batch.Add(s[p], p, (LLamaSeqId)(next - first), p == s.Count - 1);
                next++;
            }
            Decode();
            for (int i = start; i < next; i++)
            {
                var e = _ctx.GetEmbeddingsSeq((LLamaSeqId)(i - first));
                if (e.Length < Dimension) throw new LlamaException($"{_model.Path}: llama.cpp returned no embedding for sequence {i}");
                result[i] = e[..Dimension].ToArray();
            }
        }
    }

    private void Decode()
    {
        EngineContext.Decode(_ctx, _batch);
        TokensDecoded += _batch.TokenCount;
    }

    public void Dispose() => _ctx.Dispose();
}
