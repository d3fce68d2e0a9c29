using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Flywheel.Llama.Chat;
using Flywheel.Training.Data;
using Flywheel.Training.Export;
using Flywheel.Training.Graph;

namespace Flywheel.Training.Sft;

/// <summary>A conversation and the assistant reply to learn; only the reply's tokens (its end-of-turn included) are trained on.</summary>
public sealed record SftExample(IReadOnlyList<ChatMessage> Prompt, string Completion);

/// <summary>Options for <see cref="SftTrainer"/>.</summary>
public sealed record SftOptions : TrainingOptions
{
    /// <summary>The chat template that formats prompts and replies; default: the model's own.</summary>
    public ChatTemplate? Template { get; init; }
}

/// <summary>What an SFT run did: per-step mean cross-entropy of the reply tokens, held-out loss per epoch, truncations.</summary>
public sealed record SftTrainingResult(IReadOnlyList<double> Losses, IReadOnlyList<double> EvaluationLosses, int TruncatedExamples, bool Resumed);

/// <summary>
/// Supervised fine-tuning of a Llama policy: next-token cross-entropy on the assistant's tokens only (prompt tokens
/// masked), on the same graph as the reward model. <see cref="Export"/> writes a GGUF that llama.cpp loads and samples
/// from. Not thread-safe.
/// </summary>
public sealed class SftTrainer : IDisposable
{
    private readonly SftOptions _options;
    private readonly TrainerCore _core;

    public SftTrainer(string policyPath, SftOptions? options = null)
    {
        _options = options ?? new SftOptions();
        _core = new TrainerCore(policyPath, _options, _options.Template, withOutput: true, _ => [],
            new HashSet<string> { LlamaGraph.Output });
    }

    internal ModelSession Session => _core.Session;

    public string DeviceName => Session.Backend.Name;

    public long TrainableParameters => Session.Parameters.TrainableCount;

    public SftTrainingResult Train(IReadOnlyList<SftExample> examples, IReadOnlyList<SftExample>? evaluationExamples = null,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("no examples to train on", nameof(examples));
        var encoded = Encode(examples, cancellationToken);
        var evaluation = evaluationExamples is { Count: > 0 } ? Encode(evaluationExamples, cancellationToken) : null;
        var task = new Task(this, encoded, evaluation);
        var result = new TrainingLoop(Session, _options, task).Run(progress, cancellationToken);
        return new SftTrainingResult(result.Losses, task.EvaluationLosses, encoded.Count(e => e.Truncated), result.Resumed);
    }

    /// <summary>Mean cross-entropy per reply token on <paramref name="examples"/>.</summary>
    public double EvaluateLoss(IReadOnlyList<SftExample> examples, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("no examples to evaluate", nameof(examples));
        return EvaluateLoss(Encode(examples, cancellationToken), cancellationToken);
    }

    /// <summary>Writes the policy as a GGUF (the source's metadata and tokenizer, trained tensors).</summary>
    public void Export(string modelPath, string? name = null) => GgufExport.Write(Session.Source, Session.Parameters, modelPath, name);

    private List<EncodedExample> Encode(IReadOnlyList<SftExample> examples, CancellationToken cancellationToken)
    {
        var result = new List<EncodedExample>(examples.Count);
        foreach (var e in examples)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ArgumentNullException.ThrowIfNull(e, nameof(examples));
            result.Add(_core.Encoder.Encode(e.Prompt, e.Completion));
        }
        return result;
    }

    private double EvaluateLoss(List<EncodedExample> examples, CancellationToken cancellationToken)
    {
        double total = 0, targets = 0;
        foreach (var batch in BatchPlanner.Sorted(examples.Select(e => e.Length(0)).ToArray(), 1, _options.TokensPerBatch))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var g = Session.Run("SFT evaluation", train: false, g => Loss(g, examples, batch, scale: 1));
            total += GraphContext.Read(g.Result)[0];
            targets += batch.Sum(i => Targets(examples[i]));
        }
        return total / targets;
    }

    /// <summary>Reply tokens predicted: every reply token that has a token before it.</summary>
    private static int Targets(EncodedExample e) => e.Length(0) - Math.Max(e.Prompt.Length, 1);

    /// <summary>
    /// Mean cross-entropy of the batch's reply tokens times <paramref name="scale"/> × their count. Only the rows that
    /// predict a reply token go through the output projection (gathered with get_rows), so prompt tokens cost nothing
    /// there and need no mask.
    /// </summary>
    internal IntPtr Loss(GraphContext g, IReadOnlyList<EncodedExample> examples, int[] batch, float scale)
    {
        var tokens = TokenBatch.Pad(batch.Select(i => (IReadOnlyList<int>)examples[i].Sequence(0)).ToList(), _core.VocabularySize);
        var rows = new List<int>();
        var targets = new List<int>();
        for (int b = 0; b < batch.Length; b++)
        {
            var e = examples[batch[b]];
            int[] sequence = e.Sequence(0);
            for (int t = Math.Max(e.Prompt.Length, 1) - 1; t < sequence.Length - 1; t++)
            {
                rows.Add(tokens.Row(b, t));
                targets.Add(sequence[t + 1]);
            }
        }
        if (rows.Count == 0) throw new InvalidOperationException("the batch has no reply token to learn");
        int v = _core.VocabularySize;
        var labels = new float[rows.Count * v];
        for (int i = 0; i < targets.Count; i++) labels[i * v + targets[i]] = 1;
        IntPtr hidden = Session.Graph.Hidden(g, tokens);
        IntPtr selected = g.GetRows(hidden, g.InputI32("target rows", [.. rows], rows.Count));
        IntPtr logits = Session.Graph.Logits(g, selected);
        IntPtr loss = g.CrossEntropy(logits, g.InputF32("labels", labels, v, rows.Count));
        return g.Scale(loss, scale * rows.Count);
    }

    /// <summary>The mean training loss of <paramref name="examples"/> as one graph (for gradient checks).</summary>
    internal IntPtr TrainingLoss(GraphContext g, IReadOnlyList<SftExample> examples)
    {
        var encoded = Encode(examples, CancellationToken.None);
        return Loss(g, encoded, [.. Enumerable.Range(0, encoded.Count)], 1f / encoded.Sum(Targets));
    }

    /// <summary>The SFT objective for the training loop: examples weigh as many as their reply tokens.</summary>
    private sealed class Task(SftTrainer trainer, List<EncodedExample> examples, List<EncodedExample>? evaluation) : ITrainingTask
    {
        internal List<double> EvaluationLosses { get; private set; } = new();

        public IReadOnlyList<int> Lengths { get; } = examples.Select(e => e.Length(0)).ToArray();

        public int SequencesPerExample => 1;

        public double Weight(int example) => Targets(examples[example]);

        public int Tokens(int example) => examples[example].Length(0);

        public MicroBatchGraph Build(GraphContext g, int[] batch, float scale) => new(trainer.Loss(g, examples, batch, scale));

        public void Hash(IncrementalHash hash)
        {
            foreach (var e in examples) hash.AppendData(MemoryMarshal.AsBytes<int>([e.Prompt.Length, .. e.Prompt, .. e.Responses[0]]));
        }

        public void EndOfEpoch(int epoch, CancellationToken cancellationToken)
        {
            if (evaluation is not null) EvaluationLosses.Add(trainer.EvaluateLoss(evaluation, cancellationToken));
        }

        public string SaveState() => string.Join(',', EvaluationLosses.Select(l => l.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));

        public void RestoreState(string state) =>
            EvaluationLosses = state.Length == 0 ? new() : state.Split(',').Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToList();
    }

    public void Dispose() => _core.Dispose();
}
