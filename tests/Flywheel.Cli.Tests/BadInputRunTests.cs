using System.Text.Json;
using Flywheel.Parquet;
using Flywheel.Pipeline.Runs;

namespace Flywheel.Cli.Tests;

/// <summary>Bad input stops a run with exit code 2 and one line naming the file and place; nothing partial is marked done.</summary>
public class BadInputRunTests
{
    private static void InsertLine(TinyRun setup, string file, int index, string line)
    {
        var lines = File.ReadAllLines(Path.Combine(setup.Directory, file)).ToList();
        lines.Insert(index, line);
        File.WriteAllLines(Path.Combine(setup.Directory, file), lines);
    }

    /// <summary>Exit code 2 and one line on stderr.</summary>
    private static void AssertOneLineError(CliRunner.Result r)
    {
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Error.TrimEnd().Split('\n'));
    }

    private static void AssertNothingPartialIsDone(TinyRun setup, string failedStage)
    {
        var round = RunStore.Open(setup.RunDir()).Manifest.Round(1);
        Assert.Equal(StageState.Failed, round.Stages[failedStage]);
        Assert.NotEqual(StageState.Done, round.State);
        Assert.False(File.Exists(Path.Combine(setup.RunDir(), "round-001", "sft.parquet")));
    }

    [Fact]
    public async Task A_malformed_jsonl_line_names_the_file_and_line()
    {
        var setup = new TinyRun();
        InsertLine(setup, "pairs.jsonl", 4, "{\"prompt\": \"1+1=\", \"chosen\": \"2\",");
        var r = await setup.RunAsync();
        AssertOneLineError(r);
        Assert.Contains("round 1, stage gather: pairs.jsonl:5:", r.Error);
        AssertNothingPartialIsDone(setup, Stage.Gather);

        // With --skip-bad the row goes to a rejects file, is counted, and the run completes.
        var skipped = await CliRunner.RunAsync("resume", "--run-dir", setup.RunDir(), "--skip-bad", "--quiet");
        Assert.True(skipped.ExitCode == 0, skipped.Error);
        var m = RunStore.Open(setup.RunDir()).Manifest.Round(1).Metrics;
        Assert.Equal(1, m.RowsRejected);
        Assert.Equal(40, m.Pairs);
        Assert.Single(File.ReadAllLines(Path.Combine(setup.RunDir(), "round-001", "rejects-preferences-0.jsonl")));
    }

    [Fact]
    public async Task A_malformed_prompt_line_stops_the_run_before_round_1_starts()
    {
        var setup = new TinyRun();
        InsertLine(setup, "prompts.jsonl", 1, "{\"id\": \"p\", \"prompt\": ");
        var r = await setup.RunAsync();
        AssertOneLineError(r);
        Assert.Contains("prompts.jsonl:2:", r.Error);
        setup.AssertRound1NotStarted();
    }

    [Fact]
    public async Task A_prompts_file_with_no_usable_prompt_stops_the_run_before_round_1_with_or_without_skip_bad()
    {
        var setup = new TinyRun();
        File.WriteAllText(Path.Combine(setup.Directory, "prompts.jsonl"), "\n");
        var r = await setup.RunAsync();
        AssertOneLineError(r);
        Assert.Contains("prompts.jsonl: no prompts: the file holds no rows", r.Error);
        setup.AssertRound1NotStarted();

        File.WriteAllText(Path.Combine(setup.Directory, "prompts.jsonl"), "{\"id\": \"p\", \"prompt\": \n[1]\n");
        var skipped = await setup.RunAsync("--skip-bad");
        AssertOneLineError(skipped);
        Assert.Contains("prompts.jsonl: no usable prompt: all 2 rows are bad", skipped.Error);
        setup.AssertRound1NotStarted();
    }

    [Fact]
    public async Task A_pair_with_an_empty_chosen_names_the_field()
    {
        var setup = new TinyRun();
        File.AppendAllLines(Path.Combine(setup.Directory, "pairs.jsonl"), ["{\"prompt\": \"1+1=\", \"chosen\": \"\", \"rejected\": \"3\"}"]);
        var r = await setup.RunAsync();
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("pairs.jsonl:41: field 'chosen' is empty", r.Error);
        AssertNothingPartialIsDone(setup, Stage.Gather);
    }

    [Fact]
    public async Task A_prompt_longer_than_the_context_stops_the_run_before_round_1_and_with_skip_bad_is_set_aside()
    {
        var setup = new TinyRun();
        File.AppendAllLines(Path.Combine(setup.Directory, "prompts.jsonl"), [JsonSerializer.Serialize(new { id = "huge", prompt = new string('9', 400), answer = "1" })]);
        var r = await setup.RunAsync();
        AssertOneLineError(r);
        Assert.Matches(@"prompts\.jsonl:13: prompt 'huge' has \d+ tokens; with 6 new tokens that exceeds the policy's context of \d+ tokens", r.Error);
        setup.AssertRound1NotStarted();

        // With --skip-bad the early check is skipped; sampling sets the prompt aside, with its reason, and goes on.
        var skipped = await setup.RunAsync("--skip-bad");
        Assert.True(skipped.ExitCode == 0, skipped.Error);
        var reject = setup.SoleRejectedPrompt();
        Assert.StartsWith("prompt 'huge' has", (string)reject["reason"]!, StringComparison.Ordinal);

        // pass@1 is measured on the prompts file too (the config has no evaluation file): there it is set aside as well.
        Assert.NotNull(RunStore.Open(setup.RunDir()).Manifest.FinalPolicyPassAt1);
        Assert.Single(File.ReadAllLines(Path.Combine(setup.RunDir(), "rejects-evaluation.jsonl")));
    }

    [Fact]
    public async Task Redoing_a_round_from_sample_counts_its_rejected_rows_once()
    {
        var setup = new TinyRun(rounds: 1);
        InsertLine(setup, "pairs.jsonl", 4, "{\"prompt\": \"1+1=\", \"chosen\": \"2\",");
        InsertLine(setup, "prompts.jsonl", 3, "{\"id\": \"bad\", \"prompt\": ");
        Assert.Equal(0, (await setup.RunAsync("--skip-bad")).ExitCode);
        // One bad pair (gather) and one bad prompt (sample).
        Assert.Equal(2, RunStore.Open(setup.RunDir()).Manifest.Round(1).Metrics.RowsRejected);

        var redo = await CliRunner.RunAsync("resume", "--run-dir", setup.RunDir(), "--from-round", "1", "--from-stage", "sample", "--skip-bad", "--quiet");
        Assert.True(redo.ExitCode == 0, redo.Error);
        Assert.Equal(2, RunStore.Open(setup.RunDir()).Manifest.Round(1).Metrics.RowsRejected);
    }

    [Fact]
    public async Task A_missing_model_file_names_it()
    {
        var setup = new TinyRun();
        File.Delete(Path.Combine(setup.Directory, "policy.gguf"));
        var r = await setup.RunAsync();
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("policy.gguf: model file not found", r.Error);
        AssertOneLineError(r);

        // --verbose keeps the one-line reason first and adds the stack for a bug report.
        var verbose = await setup.RunAsync("--verbose");
        Assert.Equal(2, verbose.ExitCode);
        Assert.Contains("policy.gguf: model file not found", verbose.Error.Split('\n')[0]);
        Assert.Contains("   at Flywheel.", verbose.Error);
    }

    [Fact]
    public async Task A_corrupt_parquet_input_names_the_file_column_and_offset()
    {
        var setup = new TinyRun();
        string parquet = Path.Combine(setup.Directory, "pairs.parquet");
        var rows = Enumerable.Range(0, 40).Select(i => new PairRow($"{i % 10}+{i / 10}=", $"{i % 10 + i / 10}", "x"));
        await ParquetSerializer.SerializeAsync(rows, parquet, new ParquetSerializerOptions { ColumnNaming = ColumnNaming.SnakeCase });
        var bytes = await File.ReadAllBytesAsync(parquet);
        for (int i = 4; i < bytes.Length / 2; i += 7) bytes[i] ^= 0x5A; // scramble the column data, keep the footer
        await File.WriteAllBytesAsync(parquet, bytes);
        await File.WriteAllTextAsync(setup.ConfigPath, (await File.ReadAllTextAsync(setup.ConfigPath)).Replace("pairs.jsonl", "pairs.parquet"));
        var r = await setup.RunAsync();
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("pairs.parquet", r.Error);
        Assert.Contains("column", r.Error);
        AssertNothingPartialIsDone(setup, Stage.Gather);
    }

    private sealed record PairRow(string Prompt, string Chosen, string Rejected);
}
