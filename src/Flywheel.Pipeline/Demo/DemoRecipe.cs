using Flywheel.Llama.Gguf;

namespace Flywheel.Pipeline.Demo;

/// <summary>
/// Everything that makes the demo's assets: the task, the prompt sets, the imperfect corpus and the starting policy's
/// shape and pretraining. Changing any of it changes the committed assets (the tests say so).
/// </summary>
internal sealed record DemoRecipe
{
    internal static DemoRecipe Default { get; } = new();

    internal ArithmeticTask Task { get; init; } = new();

    internal ulong DataSeed { get; init; } = 20240723;

    internal int AnnotationPrompts { get; init; } = 512;
    internal int SelectionPrompts { get; init; } = 512;
    internal int EvaluationPrompts { get; init; } = 256;

    internal int CorpusRows { get; init; } = 120000;
    /// <summary>
    /// Most rows carry a slip, yet the right answer stays the most likely single reply: the policy greedily answers
    /// ~99% right but samples a right answer only ~40% of the time at temperature 1 — the room the flywheel closes.
    /// </summary>
    internal double CorpusErrorRate { get; init; } = 0.7;

    internal LlamaHyperparameters Model { get; init; } = new()
    {
        EmbeddingLength = 64, Layers = 2, Heads = 4, KvHeads = 2, FeedForwardLength = 192, ContextLength = 64,
    };

    internal int ModelSeed { get; init; } = 7;
    internal float InitStd { get; init; } = 0.02f;

    internal int PretrainEpochs { get; init; } = 1;
    internal double PretrainLearningRate { get; init; } = 1.5e-3;
    internal int PretrainBatchSequences { get; init; } = 32;
    internal int PretrainWarmupSteps { get; init; } = 20;
    internal ulong PretrainSeed { get; init; } = 3;

    /// <summary>Prompt and reply of every demo example fit in this many tokens (the ChatML frame is ~26 of them).</summary>
    internal int MaxLength { get; init; } = 40;
}
