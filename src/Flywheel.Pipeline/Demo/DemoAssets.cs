using Flywheel.Files;
using Flywheel.Pipeline.Runs;

namespace Flywheel.Pipeline.Demo;

/// <summary>
/// The files of the built-in demo: the starting policy, the prompt sets (JSONL rows {id, prompt, answer}) and the
/// recommended config, whose relative paths point at the files beside it.
/// </summary>
public sealed record DemoAssetPaths(
    string Policy,
    string AnnotationPrompts,
    string SelectionPrompts,
    string EvaluationPrompts,
    string Config);

/// <summary>The built-in demo: a tiny byte-level Llama that does small arithmetic imperfectly, and prompts to improve it on.</summary>
public static class DemoAssets
{
    internal const string PolicyFile = "policy.gguf";
    internal const string AnnotationFile = "annotation.jsonl";
    internal const string SelectionFile = "selection.jsonl";
    internal const string EvaluationFile = "evaluation.jsonl";
    internal const string ConfigFile = "flywheel.demo.json";

    /// <summary>
    /// Makes sure every demo asset exists in <paramref name="directory"/> (the repository ships them in data/demo/)
    /// and returns their paths. Missing ones are regenerated from the recipe, reproducibly: the prompt files in
    /// milliseconds, the policy by pretraining on one CPU thread (minutes).
    /// </summary>
    public static Task<DemoAssetPaths> EnsureAsync(string directory, CancellationToken cancellationToken = default) =>
        EnsureAsync(directory, DemoRecipe.Default, cancellationToken);

    internal static async Task<DemoAssetPaths> EnsureAsync(string directory, DemoRecipe recipe, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        var paths = new DemoAssetPaths(
            Path.Combine(directory, PolicyFile),
            Path.Combine(directory, AnnotationFile),
            Path.Combine(directory, SelectionFile),
            Path.Combine(directory, EvaluationFile),
            Path.Combine(directory, ConfigFile));
        var sets = DemoData.Split(recipe);
        if (!File.Exists(paths.AnnotationPrompts)) DemoData.WritePrompts(paths.AnnotationPrompts, sets.Annotation);
        if (!File.Exists(paths.SelectionPrompts)) DemoData.WritePrompts(paths.SelectionPrompts, sets.Selection);
        if (!File.Exists(paths.EvaluationPrompts)) DemoData.WritePrompts(paths.EvaluationPrompts, sets.Evaluation);
        if (!File.Exists(paths.Config)) AtomicFile.Commit(paths.Config, temp => File.WriteAllBytes(temp, DemoConfig.Json()));
        if (!File.Exists(paths.Policy))
        {
            // Training is synchronous and CPU-bound: keep it off the caller's thread.
            var corpus = DemoData.Corpus(recipe, sets.Pretraining);
            await Task.Run(() => DemoPolicy.Pretrain(recipe, corpus, paths.Policy, progress: null, cancellationToken), cancellationToken);
        }
        return paths;
    }
}
