using System.Diagnostics;
using System.Globalization;
using Flywheel.Demo.Experiment;
using Flywheel.Pipeline.Demo;

// The demo's settings search. Usage:
//   dotnet run -c Release --project bench/Flywheel.Demo.Experiment -- pretrain [--key value ...]
//       pretrains a starting policy from the recipe (overridable) and prints its pass@1
//   dotnet run -c Release --project bench/Flywheel.Demo.Experiment -- rounds [--policy PATH] [--key value ...]
//       runs the flywheel's rounds from PATH (default: the committed demo policy) and prints one line per round
//   ... -- assets [--output DIR]
//       writes the demo assets missing from DIR (default: data/demo), pretraining the policy if it is missing
//   ... -- regenerate
//       rebuilds the demo assets from the recipe and checks they equal the committed ones byte for byte
//   ... -- rm-sweep [--policy PATH]
//       one round's annotation pairs, then reward models trained with a grid of settings (train / held-out accuracy)
//   ... -- show --policy PATH [--temperature T]
//       prints a few evaluation problems with 6 sampled replies each
// Keys: see ExperimentSettings (kebab-case of the property names).
var settings = ExperimentSettings.Parse(args.Skip(1).ToArray());
string command = args.Length > 0 ? args[0] : "rounds";
string work = Directory.CreateTempSubdirectory("flywheel-demo-experiment-").FullName;
Console.WriteLine($"{command}: {settings}");
var clock = Stopwatch.StartNew();
try
{
    if (command == "pretrain")
    {
        var recipe = settings.Recipe();
        var sets = DemoData.Split(recipe);
        var corpus = DemoData.Corpus(recipe, sets.Pretraining);
        Console.WriteLine(FormattableString.Invariant($"corpus: {corpus.Count} rows, {corpus.Count(r => !r.IsCorrect) / (double)corpus.Count:P1} wrong"));
        string policy = settings.Output ?? Path.Combine(work, "policy.gguf");
        DemoPolicy.Pretrain(recipe, corpus, policy, new ConsoleProgress(50), CancellationToken.None);
        Console.WriteLine(FormattableString.Invariant($"pretrained in {clock.Elapsed.TotalSeconds:F0} s, {new FileInfo(policy).Length / 1024} KiB"));
        var evaluator = new Rounds(settings, work);
        foreach (float t in new[] { 0f, settings.Temperature })
            Console.WriteLine(FormattableString.Invariant($"pass@1 at T={t}: {await evaluator.PassAt1Async(policy, sets.Evaluation, t, CancellationToken.None):P1}"));
    }
    else if (command == "assets")
    {
        // Writes whatever demo asset is missing from --output (the repository's data/demo when there is none).
        var paths = await DemoAssets.EnsureAsync(settings.Output ?? Path.GetDirectoryName(Rounds.FindCommittedPolicy())!, CancellationToken.None);
        Console.WriteLine(paths);
    }
    else if (command == "regenerate")
    {
        // Rebuilds every demo asset from the default recipe and compares it with the committed one, byte for byte.
        var fresh = await DemoAssets.EnsureAsync(work, CancellationToken.None);
        string committed = Path.GetDirectoryName(Rounds.FindCommittedPolicy())!;
        bool same = true;
        foreach (string file in new[] { fresh.Policy, fresh.AnnotationPrompts, fresh.SelectionPrompts, fresh.EvaluationPrompts, fresh.Config })
        {
            bool equal = File.ReadAllBytes(file).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(committed, Path.GetFileName(file))));
            Console.WriteLine($"{Path.GetFileName(file)}: {(equal ? "identical" : "DIFFERENT")}");
            same &= equal;
        }
        if (!same) Environment.ExitCode = 1;
    }
    else if (command == "rm-sweep")
    {
        await new Rounds(settings, work).RewardModelSweepAsync(CancellationToken.None);
    }
    else if (command == "show")
    {
        var sets = DemoData.Split(settings.Recipe());
        var sampled = await new Rounds(settings, work).SampleAsync(settings.Policy ?? throw new ArgumentException("--policy"),
            sets.Evaluation.Take(24).ToList(), 6, new() { Temperature = settings.Temperature, TopK = 0, TopP = 1, MinP = 0, MaxNewTokens = 6 }, 1, CancellationToken.None);
        foreach (var x in sampled) Console.WriteLine($"{x.Problem.Prompt}{x.Problem.Answer}  ← {string.Join(" | ", x.Replies)}");
    }
    else
    {
        await new Rounds(settings, work).RunAsync(CancellationToken.None);
    }
    Console.WriteLine(FormattableString.Invariant($"total {clock.Elapsed.TotalSeconds:F0} s"));
}
finally
{
    Directory.Delete(work, recursive: true);
}

internal sealed class ConsoleProgress(int every) : IProgress<Flywheel.Training.TrainingProgress>
{
    public void Report(Flywheel.Training.TrainingProgress value)
    {
        if (value.Step % every == 0 || value.Step == value.TotalSteps)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  step {value.Step}/{value.TotalSteps} loss {value.Loss:F4}{(value.Accuracy is { } a ? $" acc {a:P0}" : "")} {value.TokensPerSecond:F0} tok/s"));
    }
}
