using Flywheel.Llama.Chat;
using Flywheel.Parquet;
using Flywheel.Pipeline.Datasets;

namespace Flywheel.Pipeline.Tests.Datasets;

/// <summary>Prompt layouts, default ids, the system prompt option, and the real GSM8K test set.</summary>
public class PromptDatasetTests
{
    private static readonly ChatMessage Question = new("user", "What is 17 + 25?");

    [Fact]
    public async Task Real_gsm8k_reads_1319_prompts_with_their_references()
    {
        var reader = PromptDatasets.ReadAsync(TestFiles.Data("gsm8k", "test.jsonl.gz"));
        var prompts = await reader.ToListAsync();

        Assert.Equal(1319, prompts.Count);
        Assert.Equal((1319, 0), (reader.RowsRead, reader.RowsRejected));
        Assert.Equal(1319, prompts.Select(p => p.Id).Distinct().Count());
        Assert.Equal("test-1", prompts[0].Id);
        Assert.Equal("test-1319", prompts[^1].Id);
        var janet = Assert.Single(prompts[0].Messages);
        Assert.Equal("user", janet.Role);
        Assert.StartsWith("Janet’s ducks lay 16 eggs per day.", janet.Content, StringComparison.Ordinal);
        Assert.EndsWith("\n#### 18", prompts[0].Answer, StringComparison.Ordinal);
        Assert.All(prompts, p => Assert.Contains("#### ", p.Answer, StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Shared_gsm8k_file_reads_the_same_as_its_gzipped_copy()
    {
        string path = TestFiles.Shared("gsm8k", "test.jsonl");
        Skip.IfNot(File.Exists(path), TestFiles.MissingMessage(path));

        var shared = await PromptDatasets.ReadAsync(path).ToListAsync();
        var copy = await PromptDatasets.ReadAsync(TestFiles.Data("gsm8k", "test.jsonl.gz")).ToListAsync();

        Assert.Equal(1319, shared.Count);
        Assert.Equal(copy.Select(p => (p.Id, p.Messages[0], p.Answer)), shared.Select(p => (p.Id, p.Messages[0], p.Answer)));
    }

    public static TheoryData<string, string> JsonlLayouts => new()
    {
        { "prompt string", """{"prompt": "What is 17 + 25?", "answer": "42"}""" },
        { "prompt message list", """{"prompt": [{"role": "user", "content": "What is 17 + 25?"}], "answer": "42"}""" },
        { "messages", """{"messages": [{"role": "user", "content": "What is 17 + 25?"}], "answer": "42"}""" },
        { "GSM8K question/answer", """{"question": "What is 17 + 25?", "answer": "42"}""" },
        { "numeric answer", """{"prompt": "What is 17 + 25?", "answer": 42}""" },
    };

    [Theory]
    [MemberData(nameof(JsonlLayouts))]
    public async Task Each_jsonl_layout_reads(string layout, string line)
    {
        var prompt = Assert.Single(await PromptDatasets.ReadAsync(TestFiles.WriteLines("arith.jsonl", line)).ToListAsync());

        Assert.True(prompt.Messages.SequenceEqual([Question]), layout);
        Assert.Equal("42", prompt.Answer);
        Assert.Equal("arith-1", prompt.Id);
    }

    [Fact]
    public async Task Ids_are_given_or_made_from_the_file_stem_and_line_and_answers_are_optional()
    {
        string path = TestFiles.WriteLines("arith.train.jsonl",
            """{"id": "a", "prompt": "What is 1 + 1?"}""",
            "",
            """{"prompt": "What is 2 + 2?"}""",
            """{"id": 7, "prompt": "What is 3 + 3?"}""");

        var prompts = await PromptDatasets.ReadAsync(path).ToListAsync();

        Assert.Equal(["a", "arith.train-3", "7"], prompts.Select(p => p.Id));
        Assert.All(prompts, p => Assert.Null(p.Answer));
    }

    [Fact]
    public async Task The_system_prompt_option_is_prepended_unless_the_prompt_has_its_own()
    {
        string path = TestFiles.WriteLines("chat.jsonl",
            """{"messages": [{"role": "user", "content": "Hi"}]}""",
            """{"messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}]}""");

        var prompts = await PromptDatasets.ReadAsync(path, new DatasetReadOptions { SystemPrompt = "Be kind." }).ToListAsync();

        Assert.Equal([new("system", "Be kind."), new("user", "Hi")], prompts[0].Messages);
        Assert.Equal([new("system", "Be terse."), new("user", "Hi")], prompts[1].Messages);
    }

    [Fact]
    public async Task Parquet_prompts_read_with_ids_from_row_numbers_and_int64_ids_as_text()
    {
        var schema = new ParquetSchema(
            ParquetField.Of("id", FieldType.Int64),
            ParquetField.List("messages", ParquetField.Struct("element", false, ParquetField.Of("role", FieldType.String, false), ParquetField.Of("content", FieldType.String, false))),
            ParquetField.Of("answer", FieldType.String));
        var messages = new[] { new Dictionary<string, object?> { ["role"] = "user", ["content"] = "What is 17 + 25?" } };
        string path = await TestFiles.WriteParquetAsync("arith.parquet", schema,
            PairFormatTests.Row(("id", 10L), ("messages", messages), ("answer", "42")),
            PairFormatTests.Row(("id", null), ("messages", messages), ("answer", null)));

        var prompts = await PromptDatasets.ReadAsync(path).ToListAsync();

        Assert.Equal(["10", "arith-2"], prompts.Select(p => p.Id));
        Assert.Equal([Question], prompts[1].Messages);
        Assert.Equal(["42", null], prompts.Select(p => p.Answer));
    }

    [Fact]
    public async Task Parquet_prompt_strings_read_with_numeric_answers_as_text()
    {
        var schema = new ParquetSchema(ParquetField.Of("prompt", FieldType.String, false), ParquetField.Of("answer", FieldType.Int32));
        string path = await TestFiles.WriteParquetAsync("arith.parquet", schema, PairFormatTests.Row(("prompt", "What is 17 + 25?"), ("answer", 42)));

        var prompt = Assert.Single(await PromptDatasets.ReadAsync(path).ToListAsync());

        Assert.Equal(("arith-1", "42"), (prompt.Id, prompt.Answer));
        Assert.Equal([Question], prompt.Messages);
    }

    [Fact]
    public async Task Parquet_gsm8k_layout_written_by_the_typed_serializer_reads()
    {
        string path = TestFiles.NewPath("gsm8k.parquet");
        await ParquetSerializer.SerializeAsync([new Gsm8kRow("What is 17 + 25?", "17 + 25 = <<17+25=42>>42\n#### 42")], path,
            new ParquetSerializerOptions { ColumnNaming = ColumnNaming.SnakeCase });

        var prompt = Assert.Single(await PromptDatasets.ReadAsync(path, new DatasetReadOptions { PromptFormat = PromptFormat.Gsm8k }).ToListAsync());

        Assert.Equal(("gsm8k-1", "17 + 25 = <<17+25=42>>42\n#### 42"), (prompt.Id, prompt.Answer));
        Assert.Equal([Question], prompt.Messages);
    }

    public sealed record Gsm8kRow(string Question, string Answer);
}
