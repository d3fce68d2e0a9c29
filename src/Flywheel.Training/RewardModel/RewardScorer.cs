using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Llama.Embedding;
using Flywheel.Training.Data;

namespace Flywheel.Training.RewardModel;

/// <summary>Options for <see cref="RewardScorer.Load"/>.</summary>
public sealed record RewardScorerOptions
{
    /// <summary>The head file; default: beside the model ("rm.gguf" → "rm.head.json").</summary>
    public string? HeadPath { get; init; }

    /// <summary>The chat template the reward model was trained with; default: the model's own.</summary>
    public ChatTemplate? Template { get; init; }

    /// <summary>Sequences embedded per llama.cpp decode call.</summary>
    public int Sequences { get; init; } = 16;

    public int? Threads { get; init; }

    /// <summary>Layers on the GPU (-1 all), as for <see cref="ModelOptions.GpuLayers"/>.</summary>
    public int GpuLayers { get; init; } = -1;
}

/// <summary>
/// Scores replies with an exported reward model through llama.cpp: the engine's last-token embedder gives the
/// final-norm hidden state, the head turns it into a reward. Formatting, tokenization and truncation are the
/// trainer's, so scores equal the trainer's own (up to llama.cpp's f16 KV cache rounding). Replies to one prompt scored
/// in one call share its evaluation: the embedder evaluates what its sequences start with in common once. Not thread-safe.
/// </summary>
public sealed class RewardScorer : IDisposable
{
    private readonly LlamaModel _model;
    private readonly LastTokenEmbedder _embedder;
    private readonly ConversationEncoder _encoder;
    private readonly RewardHeadFile _head;

    private RewardScorer(LlamaModel model, LastTokenEmbedder embedder, ConversationEncoder encoder, RewardHeadFile head)
    {
        _model = model;
        _embedder = embedder;
        _encoder = encoder;
        _head = head;
    }

    /// <summary>Mean and standard deviation of the rewards on the trainer's held-out pairs.</summary>
    public RewardStatistics Statistics => new(_head.RewardMean, _head.RewardStd);

    /// <summary>Loads an exported reward model and its head.</summary>
    public static RewardScorer Load(string modelPath, RewardScorerOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        options ??= new RewardScorerOptions();
        var head = RewardHeadFile.Read(options.HeadPath ?? RewardHeadFile.PathFor(modelPath));
        var model = LlamaModel.Load(modelPath, new ModelOptions { GpuLayers = options.GpuLayers });
        try
        {
            if (model.EmbeddingLength != head.EmbeddingLength)
                throw new LlamaException($"{modelPath}: embedding length {model.EmbeddingLength} does not match its head's {head.EmbeddingLength}");
            var encoder = new ConversationEncoder(model.Vocabulary, options.Template ?? ChatTemplate.FromModel(model), head.MaxLength, head.RewardToken);
            var embedder = new LastTokenEmbedder(model, new EmbedderOptions
            {
                Sequences = options.Sequences,
                ContextPerSequence = head.MaxLength,
                BatchTokens = Math.Max(head.MaxLength, 2048),
                Threads = options.Threads,
            });
            return new RewardScorer(model, embedder, encoder, head);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The reward of each reply; with <paramref name="normalize"/>, (r − mean) / std.</summary>
    public float[] Score(IReadOnlyList<RewardQuery> queries, bool normalize = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        var sequences = queries.Select(q => (IReadOnlyList<int>)_encoder.Encode(q.Prompt, q.Response).Sequence(0)).ToList();
        var hidden = _embedder.Embed(sequences, cancellationToken);
        double scale = normalize && _head.RewardStd > 0 ? 1 / _head.RewardStd : 1;
        double shift = normalize ? _head.RewardMean : 0;
        var result = new float[hidden.Length];
        for (int i = 0; i < hidden.Length; i++)
        {
            double r = _head.Bias;
            for (int k = 0; k < hidden[i].Length; k++) r += (double)_head.Weight[k] * hidden[i][k];
            result[i] = (float)((r - shift) * scale);
        }
        return result;
    }

    public void Dispose()
    {
        _embedder.Dispose();
        _model.Dispose();
    }
}
