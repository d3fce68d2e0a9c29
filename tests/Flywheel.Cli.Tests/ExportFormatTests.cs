using System.Text.Json.Nodes;
using Flywheel.Llama;
using Flywheel.Parquet;
using Flywheel.Pipeline.Stages;

namespace Flywheel.Cli.Tests;

/// <summary>
/// What `export` writes is what TRL's trainers take. TRL tells the formats apart per row (trl.data_utils.is_conversational):
/// a row is conversational when its prompt, chosen, rejected, completion or messages field is a list of {role, content}
/// structs, and it looks at one such field only, so a row must not mix the two; HF datasets reads a Parquet
/// list&lt;struct&lt;role, content&gt;&gt; as such a list. DPO's conversational preference format: prompt, chosen and rejected
/// all message lists; its standard format: all three plain strings; SFT's conversational language-modeling format:
/// messages.
/// </summary>
public class ExportFormatTests(FinishedRunFixture run) : IClassFixture<FinishedRunFixture>
{
    private async Task<string> Export(string file, params string[] options)
    {
        string path = Path.Combine(CliRunner.TempDir(), file);
        var r = await CliRunner.RunAsync(["export", "--run-dir", run.RunDir, "--out", path, .. options]);
        Assert.True(r.ExitCode == 0, r.Error);
        return path;
    }

    /// <summary>The top-level field's Parquet layout as our reader sees it: "list<struct<role, content>>", "string", ….</summary>
    private static async Task<Dictionary<string, string>> Layout(string path)
    {
        await using var reader = await ParquetReader.OpenAsync(path);
        return reader.Schema.Fields.ToDictionary(f => f.Name, Describe);
    }

    private static string Describe(ParquetField f) => f switch
    {
        { IsLeaf: true, LogicalType: "STRING" } => "string",
        { IsLeaf: true } => f.PhysicalType!.Value.ToString().ToLowerInvariant(),
        { LogicalType: "LIST" } => $"list<{Describe(f.Children[0].Children[0])}>",
        _ => $"struct<{string.Join(", ", f.Children.Select(c => $"{c.Name}: {Describe(c)}"))}>",
    };

    private const string Messages = "list<struct<role: string, content: string>>";

    [Fact]
    public async Task Dpo_pairs_are_conversational_by_default_prompt_chosen_and_rejected_all_message_lists()
    {
        string path = await Export("dpo.parquet", "--kind", "dpo");
        var layout = await Layout(path);
        Assert.Equal(Messages, layout["prompt"]);
        Assert.Equal(Messages, layout["chosen"]);
        Assert.Equal(Messages, layout["rejected"]);

        // DuckDB sees the same: each reply one assistant message, the prompt ending with the user's turn; the pairs are
        // each prompt's best and worst candidate.
        Assert.Equal("STRUCT(\"role\" VARCHAR, \"content\" VARCHAR)[]", ParquetJudge.DuckDb(path, "typeof(chosen)")[0][0]);
        var rows = ParquetJudge.DuckDb(path, "prompt_id, len(chosen), chosen[1].role, chosen[1].content, len(rejected), rejected[1].role, rejected[1].content, prompt[len(prompt)].role");
        Assert.NotEmpty(rows);
        foreach (var row in rows)
        {
            var candidates = run.Candidates.Where(c => c.PromptId == (string)row[0]!).ToList();
            Assert.Equal([1L, "assistant", candidates.MinBy(c => c.Rank)!.Completion], row[1..4].Select(Normalize));
            Assert.Equal([1L, "assistant", candidates.MaxBy(c => c.Rank)!.Completion], row[4..7].Select(Normalize));
            Assert.Equal("user", row[7]);
        }

        // The JSONL form is the same rows as JSON: TRL's docs' example layout.
        string jsonl = await Export("dpo.jsonl", "--kind", "dpo", "--format", "jsonl");
        var first = JsonNode.Parse(File.ReadLines(jsonl).First())!;
        Assert.Equal("assistant", (string?)first["chosen"]![0]!["role"]);
        Assert.Equal("user", (string?)first["prompt"]!.AsArray().Last()!["role"]);
        Assert.True(IsConversational(first));
    }

    [Fact]
    public async Task Dpo_pairs_in_text_style_are_plain_strings_with_the_prompt_as_the_policy_saw_it()
    {
        string path = await Export("dpo-text.parquet", "--kind", "dpo", "--format-style", "text");
        var layout = await Layout(path);
        Assert.Equal("string", layout["prompt"]);
        Assert.Equal("string", layout["chosen"]);
        Assert.Equal("string", layout["rejected"]);
        Assert.Equal(["VARCHAR", "VARCHAR", "VARCHAR"], ParquetJudge.DuckDb(path, "typeof(prompt), typeof(chosen), typeof(rejected)")[0]);

        // The prompt text tokenizes (BOS added) to exactly the tokens the sampler was fed.
        using var policy = LlamaModel.Load(Path.Combine(run.Setup.Directory, "policy.gguf"), new ModelOptions { VocabularyOnly = true });
        var rows = ParquetJudge.DuckDb(path, "prompt_id, prompt, chosen");
        Assert.NotEmpty(rows);
        foreach (var row in rows)
        {
            var best = run.Candidates.Where(c => c.PromptId == (string)row[0]!).MinBy(c => c.Rank)!;
            Assert.Equal(best.PromptTokenIds, policy.Vocabulary.Tokenize((string)row[1]!, addSpecial: true, parseSpecial: true));
            Assert.Equal(best.Completion, row[2]);
        }

        string jsonl = await Export("dpo-text.jsonl", "--kind", "dpo", "--format", "jsonl", "--format-style", "text");
        Assert.False(IsConversational(JsonNode.Parse(File.ReadLines(jsonl).First())!));
    }

    [Fact]
    public async Task Sft_rows_are_conversational_messages_as_before()
    {
        string path = await Export("sft.parquet");
        Assert.Equal(Messages, (await Layout(path))["messages"]);
        var roles = ParquetJudge.DuckDb(path, "messages[len(messages)].role, messages[len(messages)].content, completion");
        Assert.Equal(24, roles.Count);
        Assert.All(roles, r => Assert.Equal(["assistant", r[2]], r[..2]));

        var refused = await CliRunner.RunAsync("export", "--run-dir", run.RunDir, "--format-style", "text", "--out", Path.Combine(CliRunner.TempDir(), "x.parquet"));
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--format-style text is for --kind dpo", refused.Error);
    }

    private static object? Normalize(object? value) => value is int i ? (long)i : value is ulong u ? (long)u : value;

    /// <summary>TRL's test, for every field it may look at (it looks at any one of them): a list of {role, content} objects.</summary>
    private static bool IsConversational(JsonNode row)
    {
        var fields = new[] { "prompt", "chosen", "rejected", "completion", "messages" }.Where(k => row[k] is not null).ToList();
        var kinds = fields.Select(k => row[k] is JsonArray { Count: > 0 } list && list[0] is JsonObject m && m["role"] is not null && m["content"] is not null).Distinct().ToList();
        Assert.Single(kinds); // all fields agree, whichever TRL picks
        return kinds[0];
    }
}
