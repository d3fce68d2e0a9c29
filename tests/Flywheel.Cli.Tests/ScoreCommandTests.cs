using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flywheel.Parquet;
using Flywheel.Pipeline.Stages;

namespace Flywheel.Cli.Tests;

/// <summary>`flywheel score`: a run's reward model gives the rewards the run gave, gates on a threshold, and judges pairs.</summary>
public class ScoreCommandTests(FinishedRunFixture run) : IClassFixture<FinishedRunFixture>
{
    private static readonly ParquetSerializerOptions Options = new() { ColumnNaming = ColumnNaming.SnakeCase };

    internal static async Task<List<T>> ReadAsync<T>(string path)
        where T : class
    {
        var rows = new List<T>();
        await foreach (var row in ParquetSerializer.DeserializeAsync<T>(path, Options)) rows.Add(row);
        return rows;
    }

    private string Rm => Path.Combine(run.Round, "rm");

    [Fact]
    public async Task A_rounds_reward_model_on_its_candidates_gives_the_rewards_the_run_stored()
    {
        string output = Path.Combine(CliRunner.TempDir(), "scored.parquet");
        var r = await CliRunner.RunAsync("score", "--model", Rm, "--in", Path.Combine(run.Round, "candidates.parquet"), "--out", output);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains("48 rows (prompt/response, 48 scored on their sampled token ids)", r.Out);

        // The same rows in the same order, every column as it was, the reward rescored in place.
        var scored = await ReadAsync<CandidateRow>(output);
        Assert.Equal(run.Candidates.Count, scored.Count);
        for (int i = 0; i < scored.Count; i++)
        {
            Assert.Equal(run.Candidates[i] with { Reward = 0 }, scored[i] with { Reward = 0 }, CandidateComparer.Instance);
            Assert.True(Math.Abs(run.Candidates[i].Reward - scored[i].Reward) < 1e-4, $"row {i}: stored {run.Candidates[i].Reward}, scored {scored[i].Reward}");
        }
        Assert.Contains($"reward mean {run.Candidates.Average(c => c.Reward).ToString("F3", CultureInfo.InvariantCulture)}", r.Out);

        // An independent reader sees the same schema as the input's.
        Assert.Equal(
            ParquetJudge.DuckDb(Path.Combine(run.Round, "candidates.parquet"), "*").Count,
            ParquetJudge.DuckDb(output, "*").Count);
        Assert.Equal("DOUBLE", ParquetJudge.DuckDb(output, "typeof(reward)")[0][0]);
    }

    [Fact]
    public async Task A_threshold_passes_the_rows_at_or_above_it_and_reports_their_share()
    {
        var rewards = run.Candidates.Select(c => c.Reward).Order().ToList();
        double threshold = Math.Round(rewards[rewards.Count / 3], 3);
        var expected = run.Candidates.Where(c => c.Reward >= threshold).Select(c => (c.PromptId, c.Candidate)).ToList();
        Assert.InRange(expected.Count, 1, rewards.Count - 1);

        string output = Path.Combine(CliRunner.TempDir(), "passed.parquet");
        var r = await CliRunner.RunAsync("score", "--model", Path.Combine(Rm, "model.gguf"), "--in", Path.Combine(run.Round, "candidates.parquet"),
            "--out", output, "--threshold", threshold.ToString(CultureInfo.InvariantCulture));
        Assert.True(r.ExitCode == 0, r.Error);
        string rate = ((double)expected.Count / rewards.Count).ToString("P1", CultureInfo.InvariantCulture);
        Assert.Contains($"{expected.Count} of 48 pass ({rate})", r.Out);
        var passed = await ReadAsync<CandidateRow>(output);
        Assert.Equal(expected, passed.Select(c => (c.PromptId, c.Candidate)).ToList());
        Assert.All(passed, c => Assert.True(c.Reward >= threshold));
    }

    [Fact]
    public async Task Sft_messages_score_to_their_stored_rewards_and_jsonl_keeps_its_fields()
    {
        // sft.parquet: the messages layout, with the prompt and completion token ids.
        string sftOut = Path.Combine(CliRunner.TempDir(), "sft-scored.parquet");
        var r = await CliRunner.RunAsync("score", "--model", Rm, "--in", Path.Combine(run.Round, "sft.parquet"), "--out", sftOut, "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        var summary = JsonNode.Parse(r.Out.TrimEnd().Split('\n')[^1])!["summary"]!;
        Assert.Equal("messages", (string?)summary["layout"]);
        var stored = await ReadAsync<SftRow>(Path.Combine(run.Round, "sft.parquet"));
        var scored = await ReadAsync<SftRow>(sftOut);
        Assert.Equal(stored.Select(s => s.Reward), scored.Select(s => s.Reward), (a, b) => Math.Abs(a - b) < 1e-4);

        // Prompt/response JSONL without token ids is scored on its text; every field comes back with a reward.
        string dir = CliRunner.TempDir();
        string input = Path.Combine(dir, "replies.jsonl");
        File.WriteAllLines(input, run.Candidates.Take(10).Select(c => JsonSerializer.Serialize(new { id = c.PromptId, prompt = c.Prompt, response = c.Completion, note = "é" })));
        string output = Path.Combine(dir, "replies-scored.jsonl");
        r = await CliRunner.RunAsync("score", "--model", Rm, "--in", input, "--out", output);
        Assert.True(r.ExitCode == 0, r.Error);
        Assert.Contains("10 rows (prompt/response):", r.Out);
        var lines = File.ReadAllLines(output).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(10, lines.Count);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(run.Candidates[i].Completion, (string?)lines[i]["response"]);
            Assert.Equal("é", (string?)lines[i]["note"]);
            Assert.True(double.IsFinite((double)lines[i]["reward"]!));
        }
    }

    [Fact]
    public async Task Preference_pairs_report_the_accuracy_their_rewards_give()
    {
        string output = Path.Combine(CliRunner.TempDir(), "pairs-scored.jsonl");
        var r = await CliRunner.RunAsync("score", "--model", Rm, "--in", Path.Combine(run.Setup.Directory, "pairs.jsonl"), "--out", output);
        Assert.True(r.ExitCode == 0, r.Error);
        var rows = File.ReadAllLines(output).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(40, rows.Count);
        double accuracy = rows.Count(p => (double)p["chosen_reward"]! > (double)p["rejected_reward"]!) / 40.0;
        Assert.Contains($"40 pairs: accuracy {accuracy.ToString("P1", CultureInfo.InvariantCulture)}", r.Out);

        var gated = await CliRunner.RunAsync("score", "--model", Rm, "--in", Path.Combine(run.Setup.Directory, "pairs.jsonl"), "--threshold", "0");
        Assert.Equal(2, gated.ExitCode);
        Assert.Contains("--threshold gates replies, and pairs.jsonl holds preference pairs", gated.Error);
    }

    [Theory]
    [InlineData("{\"prompt\": \"1+1=\", \"response\": \"2\"}\n{\"prompt\": \"2+2=\"}", "replies.jsonl:2: field 'response' is missing")]
    [InlineData("{\"prompt\": \"1+1=\", \"response\": \"2\", \"prompt_token_ids\": [1, 2]}", "replies.jsonl:1: field 'token_ids' is missing")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"1+1=\"}]}", "replies.jsonl:1: field 'messages' must end with an assistant message, not 'user'")]
    [InlineData("{\"prompt\": \"1+1=\", \"response\": \"2\"}\n{\"prompt\": \"1+1=\", \"response\": \"2\",", "replies.jsonl:2: malformed JSON")]
    [InlineData("", "replies.jsonl: holds no rows to score")]
    public async Task Bad_input_names_the_file_and_line_exits_2_and_writes_nothing(string content, string message)
    {
        string dir = CliRunner.TempDir();
        File.WriteAllText(Path.Combine(dir, "replies.jsonl"), content);
        string output = Path.Combine(dir, "out.jsonl");
        var r = await CliRunner.RunAsync("score", "--model", Rm, "--in", Path.Combine(dir, "replies.jsonl"), "--out", output);
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Error.TrimEnd().Split('\n'));
        Assert.Contains(message, r.Error);
        Assert.Equal(["replies.jsonl"], Directory.GetFiles(dir).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_missing_reward_model_is_bad_input()
    {
        var r = await CliRunner.RunAsync("score", "--model", Path.Combine(run.RunDir, "round-009", "rm"), "--in", Path.Combine(run.Round, "candidates.parquet"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("round-009/rm/model.gguf: reward model not found", r.Error);
    }

    /// <summary>Records compare their lists by reference; this compares candidates field by field, lists by content.</summary>
    private sealed class CandidateComparer : IEqualityComparer<CandidateRow>
    {
        public static readonly CandidateComparer Instance = new();

        public bool Equals(CandidateRow? x, CandidateRow? y) =>
            JsonSerializer.Serialize(x) == JsonSerializer.Serialize(y);

        public int GetHashCode(CandidateRow obj) => 0;
    }
}
