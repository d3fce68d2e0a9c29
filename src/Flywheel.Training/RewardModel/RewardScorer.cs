using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Llama.Gguf;
using Flywheel.Training.Data;
using Flywheel.Training.Model;
using Flywheel.Training.Torch;
using static TorchSharp.torch;

namespace Flywheel.Training.RewardModel;

/// <summary>Options for <see cref="RewardScorer.Load"/>.</summary>
public sealed record RewardScorerOptions
{
    /// <summary>The head file; default: beside the model ("rm.gguf" → "rm.head.json").</summary>
    public string? HeadPath { get; init; }

    /// <summary>The chat template the reward model was trained with; default: the model's own.</summary>
    public ChatTemplate? Template { get; init; }

    /// <summary>Real tokens per forward pass.</summary>
    public int TokensPerBatch { get; init; } = 4096;

    /// <summary>Torch's CPU threads (process-wide); default: <see cref="LlamaBackend.DefaultThreadCount"/>.</summary>
    public int? Threads { get; init; }

    public ComputeDevice Device { get; init; } = ComputeDevice.Auto;
}

/// <summary>
/// Scores replies with an exported reward model (the GGUF backbone and its head file) through the trainer's own
/// TorchSharp decoder: formatting, tokenization, truncation and the forward pass are the trainer's, so scores equal
/// the trainer's own. (Measured against llama.cpp's last-token embedder on the same exported model, this is 1.4–1.5×
/// faster on CPU even though llama.cpp evaluates a shared prompt once, and it runs beside the sampler rather than
/// taking turns with it in LLamaSharp's decode lock; bench/README.md.)
/// Not thread-safe.
/// </summary>
public sealed class RewardScorer : IDisposable
{
    private readonly LlamaModel _vocabularyModel;
    private readonly DecoderModel _model;
    private readonly ConversationEncoder _encoder;
    private readonly RewardHeadFile _head;
    private readonly Tensor _weight, _bias;
    private readonly int _tokensPerBatch;

    private RewardScorer(LlamaModel vocabularyModel, DecoderModel model, ConversationEncoder encoder, RewardHeadFile head, int tokensPerBatch)
    {
        _vocabularyModel = vocabularyModel;
        _model = model;
        _encoder = encoder;
        _head = head;
        using var weight = tensor(head.Weight, [1, head.EmbeddingLength], ScalarType.Float32);
        using var bias = tensor(new[] { head.Bias }, ScalarType.Float32);
        _weight = weight.to(model.Device, copy: true);
        _bias = bias.to(model.Device, copy: true);
        _tokensPerBatch = tokensPerBatch;
    }

    /// <summary>Mean and standard deviation of the rewards on the trainer's held-out pairs.</summary>
    public RewardStatistics Statistics => new(_head.RewardMean, _head.RewardStd);

    /// <summary>Loads an exported reward model and its head.</summary>
    public static RewardScorer Load(string modelPath, RewardScorerOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        options ??= new RewardScorerOptions();
        if (options.TokensPerBatch < 1) throw new ArgumentException($"tokens per batch must be ≥ 1, got {options.TokensPerBatch}");
        var head = RewardHeadFile.Read(options.HeadPath ?? RewardHeadFile.PathFor(modelPath));
        var device = TorchRuntime.Resolve(options.Device);
        TorchRuntime.SetThreads(options.Threads ?? LlamaBackend.DefaultThreadCount);
        var file = GgufFile.Open(modelPath);
        var config = DecoderConfig.FromGguf(file);
        if (config.Hyperparameters.EmbeddingLength != head.EmbeddingLength)
            throw new LlamaException($"{modelPath}: embedding length {config.Hyperparameters.EmbeddingLength} does not match its head's {head.EmbeddingLength}");
        var vocabulary = LlamaModel.Load(modelPath, new ModelOptions { VocabularyOnly = true });
        DecoderModel? model = null;
        try
        {
            var encoder = new ConversationEncoder(vocabulary.Vocabulary, options.Template ?? ChatTemplate.FromModel(vocabulary), head.MaxLength, head.RewardToken);
            model = new DecoderModel(file, config, device, withOutput: false, trainable: _ => false, lora: null, seed: 0);
            return new RewardScorer(vocabulary, model, encoder, head, Math.Max(options.TokensPerBatch, head.MaxLength));
        }
        catch
        {
            model?.Dispose();
            vocabulary.Dispose();
            throw;
        }
    }

    /// <summary>The reward of each reply; with <paramref name="normalize"/>, (r − mean) / std.</summary>
    public float[] Score(IReadOnlyList<RewardQuery> queries, bool normalize = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        return Score(queries.Select(q => _encoder.Encode(q.Prompt, q.Response).Sequence(0)).ToList(), normalize, cancellationToken);
    }

    /// <summary>The reward of each sampled reply, on its tokens as sampled; with <paramref name="normalize"/>, (r − mean) / std.</summary>
    public float[] Score(IReadOnlyList<SampledReply> replies, bool normalize = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(replies);
        return Score(replies.Select(r => _encoder.EncodeTokens([.. r.PromptTokens], r.ReplyTokens).Sequence(0)).ToList(), normalize, cancellationToken);
    }

    private float[] Score(List<int[]> sequences, bool normalize, CancellationToken cancellationToken)
    {
        float[] rewards = RewardReadout.Score(_model, _weight, _bias, sequences, _tokensPerBatch, cancellationToken);
        if (!normalize) return rewards;
        double scale = _head.RewardStd > 0 ? 1 / _head.RewardStd : 1;
        return [.. rewards.Select(r => (float)((r - _head.RewardMean) * scale))];
    }

    public void Dispose()
    {
        _weight.Dispose();
        _bias.Dispose();
        _model.Dispose();
        _vocabularyModel.Dispose();
    }
}
