using Flywheel.Pipeline.Config;

namespace Flywheel.Pipeline.Runs;

/// <summary>Which stage a change of config keys first feeds: where a run continued under the changed config must redo from.</summary>
internal static class ConfigChanges
{
    /// <summary>
    /// The earliest stage whose output the changed <paramref name="keys"/> (JSON paths, as ConfigLoader.Differences
    /// gives them) alter, or null when none does (the run's name, device or threads; the evaluation set, whose pass@1
    /// is measured again anyway). A key not known here counts from the start of a round.
    /// </summary>
    public static string? FirstStage(IEnumerable<string> keys, FlywheelConfig config)
    {
        ArgumentNullException.ThrowIfNull(keys);
        // Annotators sample with the sampling settings and judge with their own verifier: then sampling feeds gather.
        bool annotated = config.Preferences.Any(p => p.Annotator is not null);
        var stages = keys.Select(key => Section(key) switch
        {
            "name" or "device" or "threads" or "evaluation" => null,
            "selection" => Stage.Select,
            "sft" => Stage.Sft,
            "reward_model" => Stage.TrainRm,
            "prompts" or "verifier" => Stage.Sample,
            "sampling" => annotated ? Stage.Gather : Stage.Sample,
            _ => Stage.Gather, // the policy, the preferences, the seed, and whatever is added later
        }).OfType<string>().ToList();
        return stages.Count == 0 ? null : stages.MinBy(Stage.IndexOf);
    }

    // "$.sampling.top_k" → "sampling"; "$.preferences[0].path" → "preferences".
    private static string Section(string key)
    {
        string rest = key.StartsWith("$.", StringComparison.Ordinal) ? key[2..] : key;
        int end = rest.IndexOfAny(['.', '[']);
        return end < 0 ? rest : rest[..end];
    }
}
