using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Flywheel.Training.Data;
using Flywheel.Training.Export;
using Flywheel.Training.Graph;

namespace Flywheel.Training.RewardModel;

/// <summary>
/// Trains a reward model: a Llama backbone (initialised from a policy's or another model's GGUF) with a scalar head
/// on the final-norm hidden state of each sequence's last real token. Not thread-safe.
/// </summary>
public sealed class RewardModelTrainer : IDisposable
{
    internal const string HeadWeight = "reward_head.weight";
    internal const string HeadBias = "reward_head.bias";

    private readonly RewardModelOptions _options;
    private readonly TrainerCore _core;

    /// <summary>Loads the backbone from <paramref name="backbonePath"/> (F32, F16 or BF16 GGUF) onto the device the options choose.</summary>
    public RewardModelTrainer(string backbonePath, RewardModelOptions? options = null)
    {
        _options = options ?? new RewardModelOptions();
        // The head starts at zero, as XTuner's does: every reward is 0 until the first step moves it.
        _core = new TrainerCore(backbonePath, _options, _options.Template, withOutput: false,
            hp => [new ParameterSpec(HeadWeight, [hp.EmbeddingLength, 1], new float[hp.EmbeddingLength], true), new ParameterSpec(HeadBias, [1], [0f], true)],
            new HashSet<string> { HeadWeight, HeadBias });
    }

    internal ModelSession Session => _core.Session;

    /// <summary>Name of the device training runs on (e.g. "CPU", "CUDA0").</summary>
    public string DeviceName => Session.Backend.Name;

    /// <summary>Trainable parameters (elements).</summary>
    public long TrainableParameters => Session.Parameters.TrainableCount;

    /// <summary>The reward statistics of the last evaluation (or of the training pairs), used to normalise scores.</summary>
    public RewardStatistics? Statistics { get; private set; }

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
        var result = new TrainingLoop(Session, _options, task).Run(progress, cancellationToken);
        // Normalisation statistics come from the held-out pairs when there are some, else from the training pairs.
        var last = task.Evaluations.Count > 0 ? task.Evaluations[^1] : Evaluate(encoded, -1, cancellationToken);
        var stats = new RewardStatistics(last.RewardMean, last.RewardStd);
        Statistics = stats;
        return new RewardTrainingResult(result.Losses, task.Evaluations, stats, encoded.Count(e => e.Truncated), result.Resumed);
    }

    /// <summary>Accuracy (a tie counts as wrong), mean margin and reward distribution on <paramref name="pairs"/>.</summary>
    public RewardEvaluation Evaluate(IReadOnlyList<RewardPair> pairs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Count == 0) throw new ArgumentException("no pairs to evaluate", nameof(pairs));
        return Evaluate(Encode(pairs, cancellationToken), -1, cancellationToken);
    }

    /// <summary>The reward of each reply, computed by the trainer's own graph.</summary>
    public float[] Score(IReadOnlyList<RewardQuery> queries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        var sequences = queries.Select(q => _core.Encoder.Encode(q.Prompt, q.Response).Sequence(0)).ToList();
        return Rewards(sequences, cancellationToken);
    }

    /// <summary>
    /// Writes the backbone as a GGUF that llama.cpp loads (the source's metadata and tokenizer, trained tensors) and
    /// the head with the reward statistics beside it (<c>model.head.json</c>); returns the head file's path.
    /// </summary>
    public string Export(string modelPath, string? name = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        var stats = Statistics ?? throw new InvalidOperationException("train before exporting: the reward statistics are not known yet");
        GgufExport.Write(Session.Source, Session.Parameters, modelPath, name);
        string headPath = RewardHeadFile.PathFor(modelPath);
        new RewardHeadFile
        {
            EmbeddingLength = Session.Hyperparameters.EmbeddingLength,
            Weight = ParameterStore.Read(Session.Parameters[HeadWeight].Tensor),
            Bias = ParameterStore.Read(Session.Parameters[HeadBias].Tensor)[0],
            RewardMean = stats.Mean,
            RewardStd = stats.Std,
            MaxLength = _options.MaxLength,
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
            result.Add(_core.Encoder.Encode(p.Prompt, p.Chosen, p.Rejected));
        }
        return result;
    }

    private RewardEvaluation Evaluate(List<EncodedExample> pairs, int epoch, CancellationToken cancellationToken)
    {
        var rewards = Rewards([.. pairs.Select(p => p.Sequence(0)), .. pairs.Select(p => p.Sequence(1))], cancellationToken);
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

    private float[] Rewards(List<int[]> sequences, CancellationToken cancellationToken)
    {
        var result = new float[sequences.Count];
        foreach (var batch in BatchPlanner.Sorted(sequences.Select(s => s.Length).ToArray(), 1, _options.TokensPerBatch))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var tokens = TokenBatch.Pad(batch.Select(i => (IReadOnlyList<int>)sequences[i]).ToList(), _core.VocabularySize);
            using var g = Session.Run("reward", train: false, g => Head(g, LastRows(g, Session.Graph.Hidden(g, tokens), tokens, 0, tokens.Count)));
            float[] r = GraphContext.Read(g.Result);
            for (int k = 0; k < batch.Length; k++) result[batch[k]] = r[k];
        }
        return result;
    }

    /// <summary>The loss of <paramref name="examples"/> (indices into <paramref name="pairs"/>) times <paramref name="scale"/>.</summary>
    private MicroBatchGraph PairLoss(GraphContext g, List<EncodedExample> pairs, double[] margins, int[] examples, float scale)
    {
        var sequences = examples.Select(e => (IReadOnlyList<int>)pairs[e].Sequence(0))
            .Concat(examples.Select(e => (IReadOnlyList<int>)pairs[e].Sequence(1))).ToList();
        var batch = TokenBatch.Pad(sequences, _core.VocabularySize);
        IntPtr hidden = Session.Graph.Hidden(g, batch);
        int p = examples.Length;
        IntPtr chosen = Head(g, LastRows(g, hidden, batch, 0, p));
        IntPtr rejected = Head(g, LastRows(g, hidden, batch, p, p));
        IntPtr m = g.InputF32("margins", examples.Select(e => (float)margins[e]).ToArray(), 1, p);
        return new MicroBatchGraph(RewardLossGraph.Build(g, chosen, rejected, m, _options, scale), chosen, rejected);
    }

    /// <summary>The mean training loss of <paramref name="pairs"/> as one graph (for gradient checks).</summary>
    internal IntPtr TrainingLoss(GraphContext g, IReadOnlyList<RewardPair> pairs) =>
        PairLoss(g, Encode(pairs, CancellationToken.None), pairs.Select(p => p.Margin ?? 0).ToArray(), [.. Enumerable.Range(0, pairs.Count)], 1f / pairs.Count).Loss;

    private static IntPtr LastRows(GraphContext g, IntPtr hidden, TokenBatch batch, int first, int count)
    {
        var rows = Enumerable.Range(first, count).Select(batch.LastRow).ToArray();
        return g.GetRows(hidden, g.InputI32($"last rows {first}", rows, rows.Length));
    }

    // r = w·h + b for each column h of [n_embd, n]: a [1, n] tensor.
    private IntPtr Head(GraphContext g, IntPtr rows) =>
        g.Add(g.MulMat(Session.Parameters[HeadWeight].Tensor, rows), Session.Parameters[HeadBias].Tensor);

    /// <summary>The reward-model objective over pairs, for the training loop.</summary>
    private sealed class Task(RewardModelTrainer trainer, List<EncodedExample> pairs, double[] margins, List<EncodedExample>? evaluation) : ITrainingTask
    {
        internal List<RewardEvaluation> Evaluations { get; private set; } = new();

        public IReadOnlyList<int> Lengths { get; } = pairs.Select(p => Math.Max(p.Length(0), p.Length(1))).ToArray();

        public int SequencesPerExample => 2;

        public double Weight(int example) => 1;

        public int Tokens(int example) => pairs[example].Length(0) + pairs[example].Length(1);

        public MicroBatchGraph Build(GraphContext g, int[] examples, float scale) => trainer.PairLoss(g, pairs, margins, examples, scale);

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

    public void Dispose() => _core.Dispose();
}
