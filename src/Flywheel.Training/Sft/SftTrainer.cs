using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Flywheel.Llama.Chat;
using Flywheel.Training.Data;
using Flywheel.Training.Export;
using Flywheel.Training.Model;
using static TorchSharp.torch;

namespace Flywheel.Training.Sft;

/// <summary>
/// A conversation and the assistant reply to learn; only the reply's tokens (its end-of-turn included) are trained on.
/// With <see cref="CompletionTokens"/> (the reply as the policy sampled it) those tokens are learnt as they are,
/// followed by the template's end-of-turn, instead of the tokenized <see cref="Completion"/>; with
/// <see cref="PromptTokens"/> as well (the prompt as the sampler fed it), the prompt is not formatted again.
/// </summary>
public sealed record SftExample(IReadOnlyList<ChatMessage> Prompt, string Completion)
{
    public IReadOnlyList<int>? PromptTokens { get; init; }

    public IReadOnlyList<int>? CompletionTokens { get; init; }
}

/// <summary>Options for <see cref="SftTrainer"/>.</summary>
public sealed record SftOptions : TrainingOptions
{
    /// <summary>The chat template that formats prompts and replies; default: the model's own.</summary>
    public ChatTemplate? Template { get; init; }
}

/// <summary>What an SFT run did: per-step mean cross-entropy of the reply tokens, held-out loss per epoch, truncations.</summary>
public sealed record SftTrainingResult(IReadOnlyList<double> Losses, IReadOnlyList<double> EvaluationLosses, int TruncatedExamples, bool Resumed);

/// <summary>
/// Supervised fine-tuning of a Llama-family policy: next-token cross-entropy on the assistant's tokens only (prompt
/// tokens masked), labels as token ids, the loss computed a chunk of rows at a time. <see cref="Export"/> writes a GGUF
/// that llama.cpp loads and samples from. Not thread-safe.
/// </summary>
public sealed class SftTrainer : IDisposable
{
    private readonly SftOptions _options;
    private readonly TrainerSession _session;

    public SftTrainer(string policyPath, SftOptions? options = null)
    {
        _options = options ?? new SftOptions();
        _session = new TrainerSession(policyPath, _options, _options.Template, withOutput: true,
            new HashSet<string> { DecoderConfig.Output }, (_, _) => []);
    }

    internal TrainerSession Session => _session;

    public string DeviceName => _session.DeviceName;

    public long TrainableParameters => _session.TrainableCount;

    public SftTrainingResult Train(IReadOnlyList<SftExample> examples, IReadOnlyList<SftExample>? evaluationExamples = null,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("no examples to train on", nameof(examples));
        var encoded = Encode(examples, cancellationToken);
        var evaluation = evaluationExamples is { Count: > 0 } ? Encode(evaluationExamples, cancellationToken) : null;
        var task = new Task(this, encoded, evaluation);
        var result = new TrainingLoop(_session, _options, task).Run(progress, cancellationToken);
        return new SftTrainingResult(result.Losses, task.EvaluationLosses, encoded.Count(e => e.Truncated), result.Resumed);
    }

    /// <summary>Mean cross-entropy per reply token on <paramref name="examples"/>.</summary>
    public double EvaluateLoss(IReadOnlyList<SftExample> examples, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("no examples to evaluate", nameof(examples));
        return EvaluateLoss(Encode(examples, cancellationToken), cancellationToken);
    }

    /// <summary>Writes the policy as a GGUF (the source's metadata and tokenizer, trained tensors, LoRA merged).</summary>
    public void Export(string modelPath, string? name = null) => GgufExport.Write(_session.Source, _session.Model, modelPath, name);

    private List<EncodedExample> Encode(IReadOnlyList<SftExample> examples, CancellationToken cancellationToken)
    {
        var result = new List<EncodedExample>(examples.Count);
        foreach (var e in examples)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ArgumentNullException.ThrowIfNull(e, nameof(examples));
            result.Add(e.CompletionTokens is { } tokens
                ? _session.Encoder.EncodeTokens(e.PromptTokens is { } p ? [.. p] : _session.Encoder.EncodePrompt(e.Prompt), tokens)
                : _session.Encoder.Encode(e.Prompt, e.Completion));
        }
        return result;
    }

    private double EvaluateLoss(List<EncodedExample> examples, CancellationToken cancellationToken)
    {
        double total = 0, targets = 0;
        using var _ = no_grad();
        foreach (var batch in BatchPlanner.Sorted(examples.Select(e => e.Length(0)).ToArray(), _options.TokensPerBatch))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            total += Loss(examples, batch, scale: 1, training: false).Loss;
            targets += batch.Sum(i => Targets(examples[i]));
        }
        return total / targets;
    }

    /// <summary>Reply tokens predicted: every reply token that has a token before it.</summary>
    private static int Targets(EncodedExample e) => e.Length(0) - Math.Max(e.Prompt.Length, 1);

    /// <summary>
    /// The summed cross-entropy of the batch's reply tokens times <paramref name="scale"/>. Only the rows that predict
    /// a reply token go through the output projection, so prompt tokens cost nothing there and need no mask.
    /// </summary>
    /// <returns>The summed loss, and with <paramref name="training"/> the objective to call backward on.</returns>
    internal (Tensor? Objective, double Loss) Loss(IReadOnlyList<EncodedExample> examples, int[] batch, double scale, bool training)
    {
        var sequences = batch.Select(i => examples[i].Sequence(0)).ToArray();
        var packed = new PackedBatch(sequences);
        var rows = new List<long>();
        var targets = new List<long>();
        for (int b = 0; b < batch.Length; b++)
        {
            var e = examples[batch[b]];
            int[] sequence = sequences[b];
            for (int t = Math.Max(e.Prompt.Length, 1) - 1; t < sequence.Length - 1; t++)
            {
                rows.Add(packed.Offsets[b] + t);
                targets.Add(sequence[t + 1]);
            }
        }
        if (rows.Count == 0) throw new InvalidOperationException("the batch has no reply token to learn");
        var hidden = _session.Model.Hidden(packed);
        var selected = hidden.index_select(0, tensor(rows.ToArray(), device: _session.Device));
        return ChunkedCrossEntropy.Compute(selected, _session.Model.OutputWeight, [.. targets], scale, training);
    }

    /// <summary>The token sequence (prompt, reply, end-of-turn) the trainer learns from <paramref name="example"/>.</summary>
    internal int[] TrainingTokens(SftExample example) => Encode([example], CancellationToken.None)[0].Sequence(0);

    /// <summary>The mean training loss of <paramref name="examples"/> as one objective (for gradient checks).</summary>
    internal MicroBatch TrainingLoss(IReadOnlyList<SftExample> examples)
    {
        var encoded = Encode(examples, CancellationToken.None);
        var (objective, loss) = Loss(encoded, [.. Enumerable.Range(0, encoded.Count)], 1.0 / encoded.Sum(Targets), training: true);
        return new MicroBatch(objective!, loss);
    }

    /// <summary>The SFT objective for the training loop: examples weigh as many as their reply tokens.</summary>
    private sealed class Task(SftTrainer trainer, List<EncodedExample> examples, List<EncodedExample>? evaluation) : ITrainingTask
    {
        internal List<double> EvaluationLosses { get; private set; } = new();

        public IReadOnlyList<int> Tokens { get; } = examples.Select(e => e.Length(0)).ToArray();

        public double Weight(int example) => Targets(examples[example]);

        public MicroBatch Forward(int[] batch, double scale)
        {
            var (objective, loss) = trainer.Loss(examples, batch, scale, training: true);
            return new MicroBatch(objective!, loss);
        }

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

    public void Dispose() => _session.Dispose();
}
