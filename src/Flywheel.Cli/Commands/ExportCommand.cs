using Flywheel.Files;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Flywheel.Parquet;
using Flywheel.Pipeline.Runs;
using Flywheel.Pipeline.Stages;

namespace Flywheel.Cli.Commands;

/// <summary>`flywheel export`: merge rounds into one SFT (or DPO pairs) dataset.</summary>
internal static class ExportCommand
{
    public static Command Create(CliConsole console)
    {
        var runDir = RunLocation.RunDirOption();
        var rounds = new Option<string?>("--rounds") { Description = "rounds to merge: 1-6, or 1,3,5 (default: all done)" };
        var kind = new Option<string>("--kind") { Description = "sft (kept rows) or dpo (best vs worst candidate per prompt)", DefaultValueFactory = _ => "sft" };
        kind.AcceptOnlyFromAmong("sft", "dpo");
        var format = new Option<string>("--format") { Description = "parquet or jsonl", DefaultValueFactory = _ => "parquet" };
        format.AcceptOnlyFromAmong("parquet", "jsonl");
        var minScore = new Option<double?>("--min-score") { Description = "keep rows whose reward (dpo: chosen reward) is at least X" };
        var dedupe = new Option<bool>("--dedupe") { Description = "one row per identical prompt and completion, the best-rewarded" };
        var output = new Option<string>("--out") { Description = "the file to write", Required = true };
        var command = new Command("export", "Merge rounds into one SFT (or DPO pairs) dataset") { runDir, rounds, kind, format, minScore, dedupe, output };
        command.SetAction(async (parse, ct) =>
        {
            using var store = RunLocation.OpenExisting(parse.GetValue(runDir));
            var selected = ParseRounds(parse.GetValue(rounds), store.Manifest);
            double? min = parse.GetValue(minScore);
            string outPath = Path.GetFullPath(parse.GetRequiredValue(output));
            bool jsonl = parse.GetValue(format) == "jsonl";
            long written;
            if (parse.GetValue(kind) == "sft")
            {
                var rows = new List<SftRow>();
                foreach (int r in selected)
                    await foreach (var row in ParquetSerializer.DeserializeAsync<SftRow>(Path.Combine(store.RoundDirectory(r), "sft.parquet"), Options, ct))
                        if (min is null || row.Reward >= min) rows.Add(row);
                if (parse.GetValue(dedupe))
                    rows = rows.GroupBy(r => (r.Prompt, r.Completion)).Select(g => g.OrderByDescending(r => r.Reward).First()).ToList();
                written = await WriteAsync(rows, outPath, jsonl, ct);
            }
            else
            {
                var pairs = new List<DpoRow>();
                foreach (int r in selected)
                {
                    var candidates = new List<CandidateRow>();
                    await foreach (var c in ParquetSerializer.DeserializeAsync<CandidateRow>(Path.Combine(store.RoundDirectory(r), "candidates.parquet"), Options, ct)) candidates.Add(c);
                    foreach (var prompt in candidates.GroupBy(c => c.PromptIndex).OrderBy(g => g.Key))
                    {
                        var best = prompt.MinBy(c => c.Rank)!;
                        var worst = prompt.MaxBy(c => c.Rank)!;
                        if (best.Completion == worst.Completion || (min is not null && best.Reward < min)) continue;
                        pairs.Add(new DpoRow
                        {
                            Prompt = best.PromptMessages, PromptId = best.PromptId, Chosen = best.Completion, Rejected = worst.Completion,
                            RewardChosen = best.Reward, RewardRejected = worst.Reward, Margin = best.Reward - worst.Reward, Round = r,
                        });
                    }
                }
                if (parse.GetValue(dedupe))
                    pairs = pairs.GroupBy(p => (p.PromptId, p.Chosen, p.Rejected)).Select(g => g.OrderByDescending(p => p.Margin).First()).ToList();
                written = await WriteAsync(pairs, outPath, jsonl, ct);
            }
            console.Out.WriteLine($"wrote {written:N0} rows from rounds {string.Join(",", selected)} to {outPath}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static readonly ParquetSerializerOptions Options = RowFiles.Options();

    private static async Task<long> WriteAsync<T>(List<T> rows, string path, bool jsonl, CancellationToken ct)
    {
        if (!jsonl)
        {
            await ParquetSerializer.SerializeAsync(rows, path, Options, ct);
            return rows.Count;
        }
        var json = new JsonSerializerOptions(CliConsole.Json) { WriteIndented = false };
        await AtomicFile.WriteLinesAsync(path, rows.Select(r => JsonSerializer.Serialize(r, json)), ct);
        return rows.Count;
    }

    /// <summary>"1-6", "1,3,5", or null for every round whose write stage is done.</summary>
    internal static IReadOnlyList<int> ParseRounds(string? spec, RunManifest manifest)
    {
        var done = manifest.Rounds.Where(r => r.Stages[Stage.Write] == StageState.Done).Select(r => r.Round).ToHashSet();
        if (spec is null)
        {
            if (done.Count == 0) throw new UsageException("no round of this run has written its data yet");
            return done.Order().ToList();
        }
        var rounds = new List<int>();
        foreach (var part in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var ends = part.Split('-');
            if (ends.Length > 2 || !ends.All(e => int.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                throw new UsageException($"--rounds '{spec}': write a range like 1-6 or a list like 1,3,5");
            int from = int.Parse(ends[0], CultureInfo.InvariantCulture), to = int.Parse(ends[^1], CultureInfo.InvariantCulture);
            if (from > to) throw new UsageException($"--rounds '{part}': the range is backwards");
            for (int r = from; r <= to; r++) rounds.Add(r);
        }
        var missing = rounds.Where(r => !done.Contains(r)).ToList();
        if (missing.Count > 0) throw new UsageException($"--rounds: round {missing[0]} has no written data (rounds done: {string.Join(",", done.Order())})");
        return rounds.Distinct().Order().ToList();
    }
}
