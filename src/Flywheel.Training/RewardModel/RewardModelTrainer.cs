using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Flywheel.Training.Data;
using Flywheel.Training.Export;
using Flywheel.Training.Model;
using Flywheel.Training.Torch;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flywheel.Training.RewardModel;

/// <summary>
/// Trains a reward model: a Llama-family backbone (initialised from a policy's or another model's GGUF) with a
/// scalar head on the final-norm hidden state of each sequence's last token (or of the reward token appended to it).
/// Not thread-safe.
/// </summary>
public sealed class RewardModelTrainer : IDisposable
{
    internal const string HeadWeight = "reward_head.weight";
    internal const string HeadBias = "reward_head.bias";

    private readonly RewardModelOptions _options;
    private readonly TrainerSession _session;

    /// <summary>Loads the backbone from <paramref name="backbonePath"/> (F32, F16 or BF16 GGUF) onto the device the options choose.</summary>
    public RewardModelTrainer(string backbonePath, RewardModelOptions? options = null)
    {
        _options = options ?? new RewardModelOptions();
        // The head starts at zero, as XTuner's does: every reward is 0 until the first step moves it.
        _session = new TrainerSession(backbonePath, _options, _options.Template, withOutput: false, new HashSet<string>(),
            (hp, device) =>
            [
                (HeadWeight, new Parameter(zeros([1, hp.EmbeddingLength], ScalarType.Float32, device), requires_grad: true)),
                (HeadBias, new Parameter(zeros([1], ScalarType.Float32, device), requires_grad: true)),
            ],
            _options.RewardToken);
    }

    internal TrainerSession Session => _session;

    /// <summary>Name of the device training runs on (e.g. "CPU", "CUDA0").</summary>
    public string DeviceName => _session.DeviceName;

    /// <summary>Trainable parameters (elements).</summary>
    public long TrainableParameters => _session.TrainableCount;

    /// <summary>The reward statistics of the last evaluation (or of the training pairs), used to normalise scores.</summary>
    public RewardStatistics? Statistics { get; private set; }

    /// <summary>The trained model's rewards of each evaluation pair given to <see cref="Train"/>, in their order (empty without any).</summary>
    public IReadOnlyList<(float Chosen, float Rejected)> EvaluationRewards { get; private set; } = [];

    /// <summary>
    /// Trains on <paramref name="pairs"/>, evaluating on <paramref name="evaluationPairs"/> after each epoch. With a
    /// checkpoint directory in the options, a run that stopped continues where its last checkpoint left off.
    /// </summary>
    public RewardTrainingResult Train(IReadOnlyList<RewardPair> pairs, IReadOnlyList<RewardPair>? evaluationPairs = null,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Count == 0) throw new ArgumentException("no preference pairs to train on", nameof(pairs));
        var encoded = Encode(pairs, cancellationToken);
        var evaluation = evaluationPairs is { Count: > 0 } ? Encode(evaluationPairs, cancellationToken) : null;
        var task = new Task(this, encoded, pairs.Select(p => p.Margin ?? 0).ToArray(), evaluation);
        var result = new TrainingLoop(_session, _options, task).Run(progress, cancellationToken);
        // Normalisation statistics come from the held-out pairs when there are some, else from the training pairs.
        var last = task.Evaluations.Count > 0 ? task.Evaluations[^1] : Evaluate(encoded, -1, cancellationToken);
        var stats = new RewardStatistics(last.RewardMean, last.RewardStd);
        Statistics = stats;
        // The sequences are encoded already: one more forward pass, nothing rendered or tokenized again.
        if (evaluation is not null)
        {
            var rewards = PairRewards(evaluation, cancellationToken);
            EvaluationRewards = [.. Enumerable.Range(0, evaluation.Count).Select(i => (rewards[i], rewards[evaluation.Count + i]))];
        }
        return new RewardTrainingResult(result.Losses, task.Evaluations, stats, encoded.Count(e => e.Truncated), result.Resumed);
    }

    /// <summary>Accuracy (a tie counts as wrong), mean margin and reward distribution on <paramref name="pairs"/>.</summary>
    public RewardEvaluation Evaluate(IReadOnlyList<RewardPair> pairs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Count == 0) throw new ArgumentException("no pairs to evaluate", nameof(pairs));
        return Evaluate(Encode(pairs, cancellationToken), -1, cancellationToken);
    }

    /// <summary>The reward of each reply, computed by the trainer's own forward pass.</summary>
    public float[] Score(IReadOnlyList<RewardQuery> queries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        var sequences = queries.Select(q => _session.Encoder.Encode(q.Prompt, q.Response).Sequence(0)).ToList();
        return Rewards(sequences, cancellationToken);
    }

    /// <summary>
    /// Writes the backbone as a GGUF that llama.cpp loads (the source's metadata and tokenizer, trained tensors, LoRA
    /// merged) and the head with the reward statistics beside it (<c>model.head.json</c>); returns the head file's path.
    /// </summary>
    public string Export(string modelPath, string? name = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        var stats = Statistics ?? throw new InvalidOperationException("train before exporting: the reward statistics are not known yet");
        GgufExport.Write(_session.Source, _session.Model, modelPath, name);
        string headPath = RewardHeadFile.PathFor(modelPath);
        new RewardHeadFile
        {
            EmbeddingLength = _session.Config.Hyperparameters.EmbeddingLength,
            Weight = TensorFloats.Read(_session.Extra(HeadWeight)),
            Bias = TensorFloats.Read(_session.Extra(HeadBias))[0],
            RewardMean = stats.Mean,
            RewardStd = stats.Std,
            MaxLength = _options.MaxLength,
            RewardToken = _session.Encoder.RewardToken,
        }.Write(headPath);
        return headPath;
    }

    private List<EncodedExample> Encode(IReadOnlyList<RewardPair> pairs, CancellationToken cancellationToken)
    {
        var result = new List<EncodedExample>(pairs.Count);
        foreach (var p in pairs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ArgumentNullException.ThrowIfNull(p, nameof(pairs));
            if (p.Margin is { } m && !double.IsFinite(m)) throw new ArgumentException($"pair {result.Count}: margin {m} is not finite", nameof(pairs));
            result.Add(_session.Encoder.Encode(p.Prompt, p.Chosen, p.Rejected));
        }
        return result;
    }

    private RewardEvaluation Evaluate(List<EncodedExample> pairs, int epoch, CancellationToken cancellationToken)
    {
        var rewards = PairRewards(pairs, cancellationToken);
        int n = pairs.Count, correct = 0;
        double margin = 0;
        for (int i = 0; i < n; i++)
        {
            correct += rewards[i] > rewards[n + i] ? 1 : 0;
            margin += rewards[i] - rewards[n + i];
        }
        double mean = rewards.Average(r => (double)r);
        double std = Math.Sqrt(rewards.Average(r => (r - mean) * (r - mean)));
        return new RewardEvaluation(epoch + 1, n, (double)correct / n, margin / n, mean, std);
    }

    /// <summary>The rewards of every pair's chosen reply, then of every pair's rejected one.</summary>
    private float[] PairRewards(List<EncodedExample> pairs, CancellationToken cancellationToken) =>
        Rewards([.. pairs.Select(p => p.Sequence(0)), .. pairs.Select(p => p.Sequence(1))], cancellationToken);

    private float[] Rewards(List<int[]> sequences, CancellationToken cancellationToken) =>
        RewardReadout.Score(_session.Model, _session.Extra(HeadWeight), _session.Extra(HeadBias), sequences, _options.TokensPerBatch, cancellationToken);

    /// <summary>The loss of <paramref name="examples"/> (indices into <paramref name="pairs"/>) times <paramref name="scale"/>.</summary>
    private MicroBatch PairLoss(List<EncodedExample> pairs, double[] margins, int[] examples, double scale)
    {
        int p = examples.Length;
        var batch = new PackedBatch([.. examples.Select(e => pairs[e].Sequence(0)), .. examples.Select(e => pairs[e].Sequence(1))]);
        var rewards = RewardReadout.Rewards(_session.Model, _session.Extra(HeadWeight), _session.Extra(HeadBias), batch);
        var chosen = rewards.narrow(0, 0, p);
        var rejected = rewards.narrow(0, p, p);
        var m = tensor(examples.Select(e => (float)margins[e]).ToArray(), device: _session.Device);
        using var sum = RewardLossFunction.Sum(chosen, rejected, m, _options);
        var loss = sum.Times(scale);
        float[] c = TensorFloats.Read(chosen), r = TensorFloats.Read(rejected);
        return new MicroBatch(loss, loss.item<float>(), c.Zip(r).Count(x => x.First > x.Second), p);
    }

    /// <summary>The mean training loss of <paramref name="pairs"/> (for gradient checks).</summary>
    internal Tensor TrainingLoss(IReadOnlyList<RewardPair> pairs) =>
        PairLoss(Encode(pairs, CancellationToken.None), pairs.Select(p => p.Margin ?? 0).ToArray(), [.. Enumerable.Range(0, pairs.Count)], 1.0 / pairs.Count).Objective;

    /// <summary>The reward-model objective over pairs, for the training loop.</summary>
    private sealed class Task(RewardModelTrainer trainer, List<EncodedExample> pairs, double[] margins, List<EncodedExample>? evaluation) : ITrainingTask
    {
        internal List<RewardEvaluation> Evaluations { get; private set; } = new();

        public IReadOnlyList<int> Tokens { get; } = pairs.Select(p => p.Length(0) + p.Length(1)).ToArray();

        public double Weight(int example) => 1;

        public MicroBatch Forward(int[] examples, double scale) => trainer.PairLoss(pairs, margins, examples, scale);

        public void Hash(IncrementalHash hash)
        {
            foreach (var (p, m) in pairs.Zip(margins))
            {
                hash.AppendData(MemoryMarshal.AsBytes<int>([p.Prompt.Length, p.Responses[0].Length, .. p.Prompt, .. p.Responses[0], .. p.Responses[1]]));
                hash.AppendData(BitConverter.GetBytes(m));
            }
        }

        public void EndOfEpoch(int epoch, CancellationToken cancellationToken)
        {
            if (evaluation is not null) Evaluations.Add(trainer.Evaluate(evaluation, epoch, cancellationToken));
        }

        public string SaveState() => JsonSerializer.Serialize(Evaluations, RewardModelJson.Default.ListRewardEvaluation);

        public void RestoreState(string state) => Evaluations = JsonSerializer.Deserialize(state, RewardModelJson.Default.ListRewardEvaluation) ?? new();
    }

    public void Dispose() => _session.Dispose();
}
