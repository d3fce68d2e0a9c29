using System.Text.Json;
using System.Text.Json.Nodes;
using Flywheel.Parquet;
using Flywheel.Pipeline.Runs;
using Flywheel.Pipeline.Stages;

namespace Flywheel.Cli.Tests;

public class PipelineEndToEndTests
{
    [Fact]
    public async Task A_two_round_run_writes_sft_parquet_and_status_reports_every_stage_done()
    {
        var setup = new TinyRun();
        // Held-out prompts for pass@1, apart from the ones the rounds select from.
        File.WriteAllLines(Path.Combine(setup.Directory, "held-out.jsonl"), Enumerable.Range(0, 5).Select(i => JsonSerializer.Serialize(new { id = $"h{i}", prompt = $"{i}+{i}=", answer = $"{2 * i}" })));
        File.WriteAllText(setup.ConfigPath, File.ReadAllText(setup.ConfigPath).Replace("\"verifier\": \"exact\"", "\"verifier\": \"exact\", \"evaluation\": { \"path\": \"held-out.jsonl\" }"));
        string dir = setup.RunDir();
        var run = await CliRunner.RunAsync("run", "--config", setup.ConfigPath, "--run-dir", dir, "--quiet");
        Assert.True(run.ExitCode == 0, run.Error);

        var status = await CliRunner.RunAsync("status", "--run-dir", dir, "--json");
        Assert.Equal(0, status.ExitCode);
        using var doc = JsonDocument.Parse(status.Out);
        var root = doc.RootElement;
        Assert.Equal("tiny", root.GetProperty("run").GetString());
        Assert.Equal(2, root.GetProperty("rounds_planned").GetInt32());
        Assert.Equal(JsonValueKind.Number, root.GetProperty("final_policy_pass_at_1").ValueKind);
        Assert.Equal(JsonValueKind.Number, root.GetProperty("initial_policy_pass_at_1").ValueKind);
        Assert.Equal(Path.Combine("..", "held-out.jsonl"), root.GetProperty("pass_at_1_prompts").GetString());
        var rounds = root.GetProperty("rounds").EnumerateArray().ToList();
        Assert.Equal(2, rounds.Count);
        foreach (var r in rounds)
        {
            Assert.Equal("done", r.GetProperty("state").GetString());
            foreach (var stage in new[] { "gather", "train_rm", "sample", "score", "select", "write", "sft" })
                Assert.Equal("done", r.GetProperty("stages").GetProperty(stage).GetString());
            var m = r.GetProperty("metrics");
            Assert.Equal(48, m.GetProperty("candidates").GetInt64());
            Assert.Equal(24, m.GetProperty("kept").GetInt64());
            Assert.InRange(m.GetProperty("rm_eval_accuracy").GetDouble(), 0, 1);
            Assert.True(m.GetProperty("reward_mean_kept").GetDouble() >= m.GetProperty("reward_mean_all").GetDouble());
        }

        // The SFT file: TRL's conversational messages plus the documented columns, and the config hash.
        string sft = Path.Combine(dir, "round-001", "sft.parquet");
        await using (var reader = await ParquetReader.OpenAsync(sft))
        {
            Assert.Equal(24, reader.RowCount);
            Assert.Contains(reader.Schema.Columns, c => c.Path == "messages.list.element.role");
            Assert.True(reader.KeyValueMetadata.ContainsKey("flywheel.config_hash"));
        }
        var rows = new List<SftRow>();
        await foreach (var row in ParquetSerializer.DeserializeAsync<SftRow>(sft, new ParquetSerializerOptions { ColumnNaming = ColumnNaming.SnakeCase })) rows.Add(row);
        Assert.All(rows, r => Assert.Equal(r.Completion, r.Messages[^1].Content));
        Assert.All(rows, r => Assert.Equal("assistant", r.Messages[^1].Role));
        Assert.All(rows, r => Assert.InRange(r.Rank, 1, 4));
        Assert.True(File.Exists(Path.Combine(dir, "round-002", "policy.gguf")));
        Assert.Contains("<svg", await File.ReadAllTextAsync(Path.Combine(dir, "report.html")));

        // DuckDB reads it too: the same rows, prompt ids, completions and conversations; and the round's candidates.
        var duck = ParquetJudge.DuckDb(sft, "prompt_id, completion, list_transform(messages, m -> m.role || ': ' || m.content)");
        Assert.Equal(24, duck.Count);
        Assert.Equal(rows.Select(r => r.PromptId), duck.Select(d => (string?)d[0]));
        Assert.Equal(rows.Select(r => r.Completion), duck.Select(d => (string?)d[1]));
        Assert.Equal(rows.Select(r => string.Join('\n', r.Messages.Select(m => $"{m.Role}: {m.Content}"))), duck.Select(d => string.Join('\n', (List<string>)d[2]!)));
        var candidates = ParquetJudge.DuckDb(Path.Combine(dir, "round-001", "candidates.parquet"), "count(*), count(*) FILTER (WHERE kept), count(DISTINCT prompt_id)");
        Assert.Equal([48L, 24L, 12L], candidates.Single());

        var export = await CliRunner.RunAsync("export", "--run-dir", dir, "--rounds", "1-2", "--out", Path.Combine(setup.Directory, "all.jsonl"), "--format", "jsonl");
        Assert.True(export.ExitCode == 0, export.Error);
        Assert.Equal(48, File.ReadAllLines(Path.Combine(setup.Directory, "all.jsonl")).Length);
        var dpo = await CliRunner.RunAsync("export", "--run-dir", dir, "--kind", "dpo", "--out", Path.Combine(setup.Directory, "dpo.parquet"));
        Assert.True(dpo.ExitCode == 0, dpo.Error);

        // Running it again has nothing left to do and changes nothing.
        var before = await File.ReadAllBytesAsync(sft);
        Assert.Equal(0, (await CliRunner.RunAsync("run", "--config", setup.ConfigPath, "--run-dir", dir, "--quiet")).ExitCode);
        Assert.Equal(before, await File.ReadAllBytesAsync(sft));
    }

    [Fact]
    public async Task Resume_from_a_round_and_stage_redoes_from_there_with_the_same_result_after_the_clone_moved()
    {
        var setup = new TinyRun(rounds: 2);
        var first = await CliRunner.RunAsync("run", "--config", setup.ConfigPath, "--run-dir", setup.RunDir(), "--quiet");
        Assert.True(first.ExitCode == 0, first.Error);
        var sft2 = await File.ReadAllBytesAsync(Path.Combine(setup.RunDir(), "round-002", "sft.parquet"));

        // The whole folder moves (config, models, data and run): the same config, so no --force, and its files are found.
        string moved = setup.Directory + "-moved";
        Directory.Move(setup.Directory, moved);
        string dir = Path.Combine(moved, "run");
        var again = await CliRunner.RunAsync("run", "--config", Path.Combine(moved, "flywheel.json"), "--run-dir", dir, "--quiet");
        Assert.True(again.ExitCode == 0, again.Error);
        var resumed = await CliRunner.RunAsync("resume", "--run-dir", dir, "--from-round", "2", "--from-stage", "sample", "--quiet");
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        Assert.Equal(sft2, await File.ReadAllBytesAsync(Path.Combine(dir, "round-002", "sft.parquet")));
    }

    [Fact]
    public async Task Every_stage_of_a_finished_round_can_be_redone_and_gives_the_rows_of_the_uninterrupted_run()
    {
        var setup = new TinyRun(rounds: 2);
        string reference = setup.RunDir("reference");
        Assert.Equal(0, (await CliRunner.RunAsync("run", "--config", setup.ConfigPath, "--run-dir", reference, "--quiet")).ExitCode);
        foreach (string stage in Stage.All)
        {
            // A copy of the finished run for each stage, beside the original, so the paths run.json records still resolve.
            string dir = setup.RunDir($"redo-{stage}");
            CopyDirectory(reference, dir);
            var redo = await CliRunner.RunAsync("resume", "--run-dir", dir, "--from-round", "2", "--from-stage", stage, "--quiet");
            Assert.True(redo.ExitCode == 0, $"--from-stage {stage}: {redo.Error}");
            foreach (string file in new[] { "sft.parquet", "candidates.parquet" })
            {
                var expected = await JsonRows(Path.Combine(reference, "round-002", file));
                var actual = await JsonRows(Path.Combine(dir, "round-002", file));
                Assert.True(expected.Count > 0);
                Assert.True(expected.SequenceEqual(actual), $"--from-stage {stage}: {file} has {actual.Count} rows, expected the original's {expected.Count}");
            }
            // Trainings are seeded and run on one thread: a redone one gives the same bytes.
            foreach (string file in new[] { "rm/model.gguf", "policy.gguf" })
                Assert.True(File.ReadAllBytes(Path.Combine(reference, "round-002", file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(dir, "round-002", file))), $"--from-stage {stage}: {file} differs");
        }
    }

    [Fact]
    public async Task Extending_a_finished_run_measures_final_pass_at_1_again_on_the_new_last_policy()
    {
        var setup = new TinyRun(rounds: 1);
        string reference = setup.RunDir("reference");
        Assert.Equal(0, (await CliRunner.RunAsync("run", "--config", setup.ConfigPath, "--run-dir", reference, "--rounds", "2", "--quiet")).ExitCode);
        double expected = FinalPassAt1((await CliRunner.RunAsync("status", "--run-dir", reference, "--json")).Out);

        string dir = setup.RunDir();
        Assert.Equal(0, (await CliRunner.RunAsync("run", "--config", setup.ConfigPath, "--run-dir", dir, "--quiet")).ExitCode);
        // A value no measurement on 12 prompts gives, so that keeping the old one cannot pass for measuring again.
        string manifest = Path.Combine(dir, "run.json");
        var json = JsonNode.Parse(await File.ReadAllTextAsync(manifest))!;
        json["final_policy_pass_at_1"] = 0.123456;
        await File.WriteAllTextAsync(manifest, json.ToJsonString());

        var extended = await CliRunner.RunAsync("run", "--config", setup.ConfigPath, "--run-dir", dir, "--rounds", "2", "--quiet");
        Assert.True(extended.ExitCode == 0, extended.Error);
        Assert.Equal(expected, FinalPassAt1((await CliRunner.RunAsync("status", "--run-dir", dir, "--json")).Out));
    }

    private static double FinalPassAt1(string statusJson)
    {
        using var doc = JsonDocument.Parse(statusJson);
        return doc.RootElement.GetProperty("final_policy_pass_at_1").GetDouble();
    }

    [Fact]
    public async Task Redoing_a_stage_whose_input_is_gone_fails_in_one_line_before_touching_the_run()
    {
        var setup = new TinyRun(rounds: 2);
        string dir = setup.RunDir();
        Assert.Equal(0, (await CliRunner.RunAsync("run", "--config", setup.ConfigPath, "--run-dir", dir, "--quiet")).ExitCode);
        File.Delete(Path.Combine(dir, "round-001", "candidates.parquet"));
        string manifest = await File.ReadAllTextAsync(Path.Combine(dir, "run.json"));

        var redo = await CliRunner.RunAsync("resume", "--run-dir", dir, "--from-round", "1", "--from-stage", "select", "--quiet");
        Assert.Equal(2, redo.ExitCode);
        Assert.Contains("candidates.parquet is gone", redo.Error);
        Assert.Single(redo.Error.Trim().Split('\n'));
        Assert.Equal(manifest, await File.ReadAllTextAsync(Path.Combine(dir, "run.json")));
        Assert.True(File.Exists(Path.Combine(dir, "round-002", "sft.parquet")));
        Assert.True(File.Exists(Path.Combine(dir, "round-001", "sft.parquet")));
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (string d in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(d.Replace(from, to, StringComparison.Ordinal));
        Directory.CreateDirectory(to);
        foreach (string f in Directory.GetFiles(from, "*", SearchOption.AllDirectories)) File.Copy(f, f.Replace(from, to, StringComparison.Ordinal));
    }

    private static async Task<List<string>> JsonRows(string path)
    {
        var rows = new List<string>();
        await using var reader = await ParquetReader.OpenAsync(path);
        await foreach (var row in reader.ReadJsonAsync(new ParquetReadOptions())) rows.Add(row.ToJsonString());
        return rows;
    }
}
