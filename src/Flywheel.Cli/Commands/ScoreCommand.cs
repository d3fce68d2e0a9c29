using System.CommandLine;
using System.Globalization;
using Flywheel.Llama.Chat;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Runs;
using Flywheel.Pipeline.Scoring;
using Flywheel.Training.RewardModel;

namespace Flywheel.Cli.Commands;

/// <summary>`flywheel score`: a reward model as a scorer and a gate on a file of replies, or as a judge of preference pairs.</summary>
internal static class ScoreCommand
{
    public static Command Create(CliConsole console)
    {
        var model = new Option<string>("--model") { Description = "a round's reward model (RUN_DIR/round-NNN/rm) or a reward model's .gguf (its .head.json beside it)", Required = true };
        var input = new Option<string>("--in") { Description = "JSONL (.jsonl, .jsonl.gz) or Parquet: prompt/response (or completion), messages, or prompt/chosen/rejected pairs", Required = true };
        var output = new Option<string?>("--out") { Description = "write the rows with their rewards here, in the input's format (default: only the summary)" };
        var threshold = new Option<double?>("--threshold") { Description = "write only rows whose reward is at least X, and print the pass rate (replies only)" };
        var device = new Option<string>("--device") { Description = "auto, cpu or cuda", DefaultValueFactory = _ => "auto" };
        device.AcceptOnlyFromAmong("auto", "cpu", "cuda");
        var outputMode = OutputOptions.Create();
        var command = new Command("score", "Score replies (or preference pairs) with a trained reward model; with --threshold, pass only those at or above it")
        {
            model, input, output, threshold, device, outputMode.Quiet, outputMode.Json,
        };
        command.SetAction(async (parse, ct) =>
        {
            var source = RewardModelSource.Resolve(parse.GetRequiredValue(model));
            string inPath = Path.GetFullPath(parse.GetRequiredValue(input));
            if (!File.Exists(inPath)) throw new UsageException($"--in {inPath}: file not found");
            string? outPath = parse.GetValue(output) is { } o ? Path.GetFullPath(o) : null;
            var mode = outputMode.Read(parse);
            using var scorer = RewardScorer.Load(source.ModelPath, new RewardScorerOptions
            {
                Template = source.Template,
                Threads = source.Threads,
                Device = Pipeline.FlywheelRunner.ParseDevice(parse.GetRequiredValue(device)),
            });
            ScoreSummary summary;
            using (var view = ProgressView.Create(console, mode))
            {
                summary = await RewardFileScoring.RunAsync(scorer, new ScoreFileOptions
                {
                    InputPath = inPath,
                    OutputPath = outPath,
                    Threshold = parse.GetValue(threshold),
                    UseTokenIds = source.SharesPolicyVocabulary,
                    Progress = view,
                }, ct);
            }
            if (mode == OutputMode.Json) console.WriteJson(new { Event = "summary", summary, Out = outPath });
            else Render(console, summary, outPath);
            return ExitCodes.Success;
        });
        return command;
    }

    private static void Render(CliConsole console, ScoreSummary s, string? outPath)
    {
        var c = CultureInfo.InvariantCulture;
        var w = console.Out;
        if (s.PairAccuracy is double accuracy)
        {
            w.WriteLine(string.Create(c, $"{s.Rows:N0} pairs: accuracy {accuracy:P1} (chosen above rejected), mean reward chosen {s.MeanChosenReward:F3}, rejected {s.MeanRejectedReward:F3}"));
        }
        else
        {
            string tokens = s.TokenIdRows > 0 ? string.Create(c, $", {s.TokenIdRows:N0} scored on their sampled token ids") : "";
            w.WriteLine(string.Create(c, $"{s.Rows:N0} rows ({s.Layout}{tokens}): reward mean {s.MeanReward:F3}, min {s.MinReward:F3}, max {s.MaxReward:F3}"));
            if (s.Threshold is double t)
                w.WriteLine(string.Create(c, $"threshold {t:G6}: {s.Passed:N0} of {s.Rows:N0} pass ({s.PassRate:P1})"));
        }
        if (outPath is not null) w.WriteLine(string.Create(c, $"wrote {s.Written:N0} rows to {outPath}"));
    }

    /// <summary>
    /// The reward model behind --model and how a run made it. A round's reward model is scored with the run's chat
    /// template, and, when it was initialised from the policy, on a row's sampled token ids where the row has them
    /// (as the run scored them); any other model with its own template and on the text.
    /// </summary>
    private sealed record RewardModelSource(string ModelPath, ChatTemplate? Template, bool SharesPolicyVocabulary, int? Threads)
    {
        public static RewardModelSource Resolve(string path)
        {
            string full = Path.GetFullPath(path);
            string gguf = full.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) ? full : Path.Combine(full, "model.gguf");
            if (!File.Exists(gguf))
                throw new UsageException($"{gguf}: reward model not found (--model takes a round's rm folder or a reward model's .gguf)");
            if (!File.Exists(Path.ChangeExtension(gguf, ".head.json")))
                throw new UsageException($"{Path.ChangeExtension(gguf, ".head.json")}: reward head not found beside the model; is {Path.GetFileName(gguf)} a reward model?");
            // RUN_DIR/round-NNN/rm/model.gguf
            string? runDir = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(gguf)));
            if (runDir is null || !File.Exists(RunStore.ManifestPathOf(runDir))) return new(gguf, null, false, null);
            using var store = RunStore.Open(runDir);
            var config = store.Config;
            return new(gguf, config.Policy.NamedTemplate(), config.RewardModel.Init == "policy", config.Threads);
        }
    }
}
