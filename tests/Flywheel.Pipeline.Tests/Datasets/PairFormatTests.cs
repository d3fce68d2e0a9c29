using Flywheel.Llama.Chat;
using Flywheel.Parquet;
using Flywheel.Pipeline.Datasets;

namespace Flywheel.Pipeline.Tests.Datasets;

/// <summary>Each pair layout, from JSONL, gzipped JSONL and Parquet.</summary>
public class PairFormatTests
{
    private static readonly ChatMessage[] AddQuestion = [new("user", "What is 2 + 2?")];

    public static TheoryData<string, string> JsonlLayouts => new()
    {
        { "HH-RLHF text", """{"chosen": "\n\nHuman: What is 2 + 2?\n\nAssistant: 4", "rejected": "\n\nHuman: What is 2 + 2?\n\nAssistant:  5 "}""" },
        { "HH-RLHF without the leading blank line", """{"chosen": "Human: What is 2 + 2?\n\nAssistant: 4", "rejected": "Human: What is 2 + 2?\n\nAssistant: 5"}""" },
        { "chat messages", """{"chosen": [{"role": "user", "content": "What is 2 + 2?"}, {"role": "assistant", "content": "4"}], "rejected": [{"role": "user", "content": "What is 2 + 2?"}, {"role": "assistant", "content": "5"}]}""" },
        { "chat messages, explicit prompt list (TRL)", """{"prompt": [{"role": "user", "content": "What is 2 + 2?"}], "chosen": [{"role": "assistant", "content": "4"}], "rejected": [{"role": "assistant", "content": "5"}]}""" },
        { "chat messages, prompt string repeated in the lists (UltraFeedback)", """{"prompt": "What is 2 + 2?", "chosen": [{"role": "user", "content": "What is 2 + 2?"}, {"role": "assistant", "content": "4"}], "rejected": [{"role": "user", "content": "What is 2 + 2?"}, {"role": "assistant", "content": "5"}]}""" },
        { "prompt/chosen/rejected strings", """{"prompt": "What is 2 + 2?", "chosen": "4", "rejected": "5", "extra": [1, 2]}""" },
    };

    [Theory]
    [MemberData(nameof(JsonlLayouts))]
    public async Task Each_jsonl_layout_reads(string layout, string line)
    {
        var pair = Assert.Single(await PreferenceDatasets.ReadAsync(TestFiles.WriteLines("pairs.jsonl", "", line, "  ")).ToListAsync());

        Assert.True(AddQuestion.SequenceEqual(pair.Prompt), layout);
        Assert.Equal("4", pair.Chosen);
        Assert.Equal("5", pair.Rejected);
        Assert.Equal("pairs.jsonl:2", pair.Source);
    }

    [Fact]
    public async Task Multi_turn_chat_messages_keep_the_shared_turns_as_the_prompt()
    {
        string path = TestFiles.WriteLines("pairs.jsonl",
            """{"chosen": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}], "rejected": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "Four, I think"}]}""");

        var pair = Assert.Single(await PreferenceDatasets.ReadAsync(path).ToListAsync());

        Assert.Equal([new("system", "Be brief."), new("user", "Hi"), new("assistant", "Hello"), new("user", "2+2?")], pair.Prompt);
        Assert.Equal(("4", "Four, I think"), (pair.Chosen, pair.Rejected));
    }

    [Fact]
    public async Task System_field_becomes_a_system_message_and_margins_come_from_margin_or_scores()
    {
        string path = TestFiles.WriteLines("pairs.jsonl",
            """{"system": "Answer with a number.", "prompt": "What is 2 + 2?", "chosen": "4", "rejected": "5", "margin": 1.5}""",
            """{"prompt": "What is 2 + 2?", "chosen": "4", "rejected": "5", "score_chosen": 7, "score_rejected": 2.5}""",
            """{"prompt": "What is 2 + 2?", "chosen": "4", "rejected": "5", "margin": null}""");

        var pairs = await PreferenceDatasets.ReadAsync(path).ToListAsync();

        Assert.Equal([new("system", "Answer with a number."), AddQuestion[0]], pairs[0].Prompt);
        Assert.Equal([1.5, 4.5, null], pairs.Select(p => p.Margin));
        Assert.Equal(["pairs.jsonl:1", "pairs.jsonl:2", "pairs.jsonl:3"], pairs.Select(p => p.Source));
    }

    [Fact]
    public async Task Gzipped_jsonl_reads_like_plain_jsonl_whatever_the_file_is_called()
    {
        string line = """{"prompt": "What is 2 + 2?", "chosen": "4", "rejected": "5"}""";
        string path = TestFiles.WriteGzipLines("pairs.data", [line, line]);

        var pairs = await PreferenceDatasets.ReadAsync(path).ToListAsync();

        Assert.Equal(2, pairs.Count);
        Assert.Equal("pairs.data:2", pairs[1].Source);
    }

    [Fact]
    public async Task The_format_option_overrides_detection()
    {
        // Told from its fields this row is prompt/chosen/rejected; read as HH-RLHF, its 'chosen' is no transcript.
        string path = TestFiles.WriteLines("pairs.jsonl", """{"prompt": "What is 2 + 2?", "chosen": "4", "rejected": "5"}""");

        var e = await Assert.ThrowsAsync<DatasetFormatException>(() => PreferenceDatasets.ReadAsync(path, new DatasetReadOptions { PairFormat = PairFormat.HhRlhf }).ToListAsync().AsTask());

        Assert.Equal("pairs.jsonl:1: field 'chosen' does not start with a 'Human:' turn", e.Message);
    }

    [Fact]
    public async Task Parquet_hh_rlhf_text_reads_with_row_numbers()
    {
        var schema = new ParquetSchema(ParquetField.Of("chosen", FieldType.String), ParquetField.Of("rejected", FieldType.String), ParquetField.Of("margin", FieldType.Double));
        string path = await TestFiles.WriteParquetAsync("pairs.parquet", schema,
            Row(("chosen", "\n\nHuman: What is 2 + 2?\n\nAssistant: 4"), ("rejected", "\n\nHuman: What is 2 + 2?\n\nAssistant: 5"), ("margin", 2.0)),
            Row(("chosen", "\n\nHuman: Hi\n\nAssistant: Hello!"), ("rejected", "\n\nHuman: Hi\n\nAssistant: Go away."), ("margin", null)));

        var pairs = await PreferenceDatasets.ReadAsync(path).ToListAsync();

        Assert.Equal(AddQuestion, pairs[0].Prompt);
        Assert.Equal(("4", "5", 2.0), (pairs[0].Chosen, pairs[0].Rejected, pairs[0].Margin));
        Assert.Equal(["pairs.parquet:row 1", "pairs.parquet:row 2"], pairs.Select(p => p.Source));
        Assert.Null(pairs[1].Margin);
    }

    [Fact]
    public async Task Parquet_chat_messages_written_by_the_typed_serializer_read()
    {
        string path = TestFiles.NewPath("pairs.parquet");
        await ParquetSerializer.SerializeAsync(
            [
                new ChatPairRow([new("user", "What is 2 + 2?"), new("assistant", "4")], [new("user", "What is 2 + 2?"), new("assistant", "5")], 3f, 1),
            ],
            path,
            new ParquetSerializerOptions { ColumnNaming = ColumnNaming.SnakeCase });

        var pair = Assert.Single(await PreferenceDatasets.ReadAsync(path).ToListAsync());

        Assert.Equal(AddQuestion, pair.Prompt);
        Assert.Equal(("4", "5", 2.0), (pair.Chosen, pair.Rejected, pair.Margin));
    }

    [Fact]
    public async Task Parquet_prompt_chosen_rejected_reads_only_the_columns_it_needs()
    {
        var schema = new ParquetSchema(
            ParquetField.Of("prompt", FieldType.String), ParquetField.Of("chosen", FieldType.String), ParquetField.Of("rejected", FieldType.String),
            ParquetField.Of("score_chosen", FieldType.Int64), ParquetField.Of("score_rejected", FieldType.Float),
            ParquetField.Of("notes", FieldType.Binary), ParquetField.Of("system", FieldType.Binary));
        string path = await TestFiles.WriteParquetAsync("pairs.parquet", schema,
            Row(("prompt", "What is 2 + 2?"), ("chosen", "4"), ("rejected", "5"), ("score_chosen", 3L), ("score_rejected", 0.5f), ("notes", new byte[] { 0xff }), ("system", "Be brief."u8.ToArray())));

        var pair = Assert.Single(await PreferenceDatasets.ReadAsync(path).ToListAsync());

        // 'notes' (not UTF-8) is never read; 'system', unannotated bytes as some writers store strings, reads as text.
        Assert.Equal([new("system", "Be brief."), AddQuestion[0]], pair.Prompt);
        Assert.Equal(2.5, pair.Margin);
    }

    internal static Dictionary<string, object?> Row(params (string Name, object? Value)[] fields) => fields.ToDictionary(f => f.Name, f => f.Value);

    public sealed record Message(string Role, string Content);

    public sealed record ChatPairRow(IReadOnlyList<Message> Chosen, IReadOnlyList<Message> Rejected, float ScoreChosen, int ScoreRejected);
}
