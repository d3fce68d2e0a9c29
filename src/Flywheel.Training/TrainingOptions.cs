using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Flywheel.Llama;

namespace Flywheel.Training;

/// <summary>How the learning rate moves after warmup.</summary>
public enum LearningRateSchedule
{
    Cosine,
    Linear,
    Constant,
}

/// <summary>The projections LoRA can adapt: attention's q, k, v, o and the MLP's gate, up, down.</summary>
public enum LoraTarget
{
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

/// <summary>
/// LoRA: each targeted projection W of every block gains a trained low-rank update (alpha / rank) · B·A (A drawn, B
/// zero, so training starts from the base model); the base stays frozen. The reward head always trains in full.
/// </summary>
public sealed record LoraOptions
{
    [Description("The rank r of each adapter's update B·A.")]
    [Range(1, int.MaxValue)]
    public int Rank { get; init; } = 8;

    [Description("Scales the update by alpha / rank.")]
    [Range(0d, double.MaxValue, MinimumIsExclusive = true)]
    public double Alpha { get; init; } = 16;

    [Description("Dropout on the adapters' input, as PEFT's lora_dropout.")]
    [Range(0d, 1d, MaximumIsExclusive = true)]
    public double Dropout { get; init; }

    [Description("The projections adapted in every block: q, k, v, o (attention), gate, up, down (MLP).")]
    public IReadOnlyList<LoraTarget> Targets { get; init; } = Enum.GetValues<LoraTarget>();

    internal double Scale => Alpha / Rank;

    internal void Validate()
    {
        if (ValueRanges.Violations(this).FirstOrDefault() is { Property: { } property, Violation: { } violation })
            throw new ArgumentException($"LoRA {property.Name.ToLowerInvariant()} {violation}");
        if (Targets is null || Targets.Count == 0) throw new ArgumentException("LoRA needs at least one target module (q, k, v, o, gate, up, down)");
        if (Targets.Distinct().Count() != Targets.Count) throw new ArgumentException($"LoRA targets name a module twice: {string.Join(", ", Targets)}");
    }

    // Records print lists as their type name: spell the targets out, so that a checkpoint's fingerprint sees them.
    public override string ToString() =>
        $"LoRA rank {Rank}, alpha {Alpha}, dropout {Dropout}, on {string.Join(",", Targets.Order())}";
}

/// <summary>Which weights train: all, the last N blocks, only the head, or LoRA adapters (with the head).</summary>
public sealed record TrainableLayers
{
    private TrainableLayers(int? lastLayers, LoraOptions? lora)
    {
        LastLayers = lastLayers;
        Lora = lora;
    }

    /// <summary>How many of the last transformer blocks train (with the final norm and the head); null for all.</summary>
    public int? LastLayers { get; }

    /// <summary>LoRA's settings when adapters train instead of the backbone.</summary>
    public LoraOptions? Lora { get; }

    /// <summary>Every tensor, token embeddings included.</summary>
    public static TrainableLayers All { get; } = new(null, null);

    /// <summary>Only the head: the reward head, or for SFT the final norm and output projection.</summary>
    public static TrainableLayers HeadOnly { get; } = new(0, null);

    /// <summary>The last <paramref name="layers"/> transformer blocks, the final norm and the head.</summary>
    public static TrainableLayers Last(int layers)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layers);
        return new TrainableLayers(layers, null);
    }

    /// <summary>LoRA adapters on every block (and the reward head, in full); the backbone stays frozen.</summary>
    public static TrainableLayers WithLora(LoraOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new TrainableLayers(0, options);
    }

    public override string ToString() => Lora is { } l ? l.ToString() : LastLayers switch { null => "all", 0 => "head only", var n => $"last {n} layers" };
}

/// <summary>What every trainer shares: device, batching, AdamW, schedule, clipping, checkpoints.</summary>
public record TrainingOptions
{
    public ComputeDevice Device { get; init; } = ComputeDevice.Auto;

    /// <summary>CPU threads; default: <see cref="LlamaBackend.DefaultThreadCount"/>.</summary>
    public int? Threads { get; init; }

    public int Epochs { get; init; } = 1;

    /// <summary>Longest sequence in tokens (prompt + response); longer examples are truncated, never dropped.</summary>
    public int MaxLength { get; init; } = 512;

    /// <summary>Padded tokens per micro-batch: examples of similar length are packed until this budget is full.</summary>
    public int TokensPerBatch { get; init; } = 4096;

    /// <summary>Micro-batches whose gradients add up before each optimizer step.</summary>
    public int GradientAccumulation { get; init; } = 1;

    public double LearningRate { get; init; } = 1e-4;

    /// <summary>The learning rate at the end of the schedule, as a fraction of <see cref="LearningRate"/>.</summary>
    public double MinLearningRateRatio { get; init; } = 0.1;

    public int WarmupSteps { get; init; }
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Cosine;

    /// <summary>Decoupled (AdamW) weight decay of matrices; norms and biases never decay.</summary>
    public double WeightDecay { get; init; } = 0.01;

    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>Global gradient-norm clipping threshold; 0 turns clipping off.</summary>
    public double MaxGradientNorm { get; init; } = 1.0;

    public TrainableLayers Layers { get; init; } = TrainableLayers.All;

    /// <summary>Seeds the data order.</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// Where checkpoints go; when it holds one from an earlier run on the same data and options, training resumes from
    /// it. Null: no checkpoints.
    /// </summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Optimizer steps between checkpoints (one is also written at the end of every epoch).</summary>
    public int CheckpointEverySteps { get; init; } = 100;

    internal virtual void Validate()
    {
        static void Check(bool ok, string message)
        {
            if (!ok) throw new ArgumentException(message);
        }
        Check(Threads is null or >= 1, $"threads must be ≥ 1, got {Threads}");
        Check(Epochs >= 1, $"epochs must be ≥ 1, got {Epochs}");
        Check(MaxLength >= 2, $"max length must be ≥ 2, got {MaxLength}");
        Check(TokensPerBatch >= MaxLength, $"the token budget per batch ({TokensPerBatch}) must hold one example of max length {MaxLength}");
        Check(GradientAccumulation >= 1, $"gradient accumulation must be ≥ 1, got {GradientAccumulation}");
        Check(LearningRate > 0 && double.IsFinite(LearningRate), $"learning rate must be > 0, got {LearningRate}");
        Check(MinLearningRateRatio is >= 0 and <= 1, $"min learning rate ratio must be in [0, 1], got {MinLearningRateRatio}");
        Check(WarmupSteps >= 0, $"warmup steps must be ≥ 0, got {WarmupSteps}");
        Check(WeightDecay >= 0 && WeightDecay * LearningRate < 1, $"weight decay must be ≥ 0 (and decay·lr < 1), got {WeightDecay}");
        Check(Beta1 is >= 0 and < 1 && Beta2 is >= 0 and < 1, $"betas must be in [0, 1), got {Beta1}, {Beta2}");
        Check(Epsilon > 0, $"epsilon must be > 0, got {Epsilon}");
        Check(MaxGradientNorm >= 0 && double.IsFinite(MaxGradientNorm), $"max gradient norm must be ≥ 0, got {MaxGradientNorm}");
        Check(CheckpointEverySteps >= 1, $"checkpoint interval must be ≥ 1, got {CheckpointEverySteps}");
        ArgumentNullException.ThrowIfNull(Layers);
    }
}

/// <summary>One optimizer step's figures, for progress bars and logs.</summary>
public sealed record TrainingProgress
{
    public required int Step { get; init; }
    public required int TotalSteps { get; init; }
    public required int Epoch { get; init; }
    public required double Loss { get; init; }
    public required double LearningRate { get; init; }
    public required double GradientNorm { get; init; }
    public required double StepsPerSecond { get; init; }

    /// <summary>Real (unpadded) tokens per second over the step.</summary>
    public required double TokensPerSecond { get; init; }

    /// <summary>Reward models: the fraction of the step's pairs ranked right (a tie counts as wrong); null for SFT.</summary>
    public double? Accuracy { get; init; }
}
