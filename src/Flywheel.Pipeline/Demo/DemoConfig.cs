using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Flywheel.Pipeline.Demo;

/// <summary>
/// The settings the demo experiment found to meet the demo's goal (bench/Flywheel.Demo.Experiment), and the
/// flywheel.json that asks the pipeline for them.
/// </summary>
internal sealed record DemoSettings
{
    internal static DemoSettings Recommended { get; } = new();

    internal int Rounds { get; init; } = 6;
    internal ulong Seed { get; init; } = 1;
    internal int Threads { get; init; } = 1;

    internal float Temperature { get; init; } = 1.0f;
    internal int TopK { get; init; }
    internal float TopP { get; init; } = 1f;

    /// <summary>Drops digits far less likely than the best one: the policy's rare arithmetic mistakes, which no reward model this small can see.</summary>
    internal float MinP { get; init; } = 0.05f;
    internal int MaxNewTokens { get; init; } = 6;
    internal int Sequences { get; init; } = 64;

    internal int AnnotationK { get; init; } = 8;
    internal int PairsPerPrompt { get; init; } = 2;

    internal int RmEpochs { get; init; } = 8;
    internal double RmLearningRate { get; init; } = 2e-3;
    internal double RmWeightDecay { get; init; }
    internal int RmBatchPairs { get; init; } = 8;
    internal double RmEvalFraction { get; init; } = 0.2;

    internal int K { get; init; } = 8;
    internal int TopN { get; init; } = 1;

    internal int SftEpochs { get; init; } = 1;
    /// <summary>Small on purpose: each round moves the policy a little, so slips (and pairs) remain for the next rounds.</summary>
    internal double SftLearningRate { get; init; } = 1e-4;
    internal int SftBatchSequences { get; init; } = 16;
}

/// <summary>Writes <see cref="DemoSettings"/> as a flywheel config (snake_case, paths relative to the config's folder).</summary>
internal static class DemoConfig
{
    internal static byte[] Json(DemoSettings? settings = null, DemoRecipe? recipe = null)
    {
        var s = settings ?? DemoSettings.Recommended;
        var r = recipe ?? DemoRecipe.Default;
        var config = new JsonObject
        {
            ["name"] = "demo",
            ["rounds"] = s.Rounds,
            ["seed"] = s.Seed,
            ["device"] = "cpu",
            ["threads"] = s.Threads,
            ["policy"] = new JsonObject { ["model"] = DemoAssets.PolicyFile },
            ["prompts"] = new JsonObject { ["path"] = DemoAssets.SelectionFile },
            ["evaluation"] = new JsonObject { ["path"] = DemoAssets.EvaluationFile },
            ["preferences"] = new JsonArray(new JsonObject
            {
                ["annotator"] = new JsonObject
                {
                    ["verifier"] = "exact",
                    ["prompts"] = DemoAssets.AnnotationFile,
                    ["k"] = s.AnnotationK,
                    ["pairs_per_prompt"] = s.PairsPerPrompt,
                },
            }),
            ["reward_model"] = new JsonObject
            {
                ["init"] = "policy",
                ["epochs"] = s.RmEpochs,
                ["learning_rate"] = s.RmLearningRate,
                ["weight_decay"] = s.RmWeightDecay,
                ["batch_pairs"] = s.RmBatchPairs,
                ["max_length"] = r.MaxLength,
                ["eval_fraction"] = s.RmEvalFraction,
                ["train"] = "all",
                ["loss"] = "bradley_terry",
            },
            ["sampling"] = new JsonObject
            {
                ["k"] = s.K,
                ["temperature"] = s.Temperature,
                ["top_k"] = s.TopK,
                ["top_p"] = s.TopP,
                ["min_p"] = s.MinP,
                ["max_new_tokens"] = s.MaxNewTokens,
                ["sequences"] = s.Sequences,
            },
            ["selection"] = new JsonObject { ["top_n"] = s.TopN, ["dedupe"] = true, ["top_quartile"] = false },
            ["sft"] = new JsonObject
            {
                ["enabled"] = true,
                ["epochs"] = s.SftEpochs,
                ["learning_rate"] = s.SftLearningRate,
                ["batch_sequences"] = s.SftBatchSequences,
                ["max_length"] = r.MaxLength,
            },
            ["verifier"] = "exact",
        };
        return Encoding.UTF8.GetBytes(config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
