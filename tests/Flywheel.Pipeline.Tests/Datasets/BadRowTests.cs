using System.Text.Json.Nodes;
using Flywheel.Parquet;
using Flywheel.Pipeline.Datasets;

namespace Flywheel.Pipeline.Tests.Datasets;

/// <summary>Every kind of bad row: the exact one-line message by default, the rejects file and counts with SkipBad.</summary>
public class BadRowTests
{
    private const string HhRow = """{"chosen": "\n\nHuman: Hi\n\nAssistant: Hello", "rejected": "\n\nHuman: Hi\n\nAssistant: Go away"}""";
    private const string Msg = """{"role": "user", "content": "Hi"}""";

    public static TheoryData<string, string, string?> BadPairLines => new()
    {
        { """[1, 2]""", "the line is a list, not a JSON object", null },
        { """ "text" """, "the line is a string, not a JSON object", null },
        { """{"prompt": "Hi", "rejected": "No"}""", "field 'chosen' is missing", "chosen" },
        { """{"prompt": "Hi", "chosen": null, "rejected": "No"}""", "field 'chosen' is null", "chosen" },
        { """{"prompt": "Hi", "chosen": 5, "rejected": "No"}""", "field 'chosen' must be a string, not a number", "chosen" },
        { """{"prompt": "Hi", "chosen": "", "rejected": "No"}""", "field 'chosen' is empty", "chosen" },
        { """{"prompt": "Hi", "chosen": "Yes", "rejected": " \n"}""", "field 'rejected' is empty", "rejected" },
        { """{"prompt": "", "chosen": "Yes", "rejected": "No"}""", "field 'prompt' is empty", "prompt" },
        { """{"prompt": "Hi", "chosen": "Yes", "rejected": "Yes "}""", "field 'rejected' is the same as 'chosen'", "rejected" },
        { """{"prompt": "Hi", "system": true, "chosen": "Yes", "rejected": "No"}""", "field 'system' must be a string, not a boolean", "system" },
        { """{"prompt": "Hi", "chosen": "Yes", "rejected": "No", "margin": "1.5"}""", "field 'margin' must be a number, not a string", "margin" },
        { """{"prompt": "Hi", "chosen": "Yes", "rejected": "No", "score_chosen": 1}""", "field 'score_rejected' is missing (a margin needs both scores)", "score_rejected" },
        { """{"prompt": "Hi", "chosen": "Yes", "rejected": "No", "score_rejected": 1}""", "field 'score_chosen' is missing (a margin needs both scores)", "score_chosen" },
        { """{"chosen": "Hi there", "rejected": "Hello"}""", "field 'chosen' does not start with a 'Human:' turn", "chosen" },
        { """{"chosen": "\n\nHuman: Hi\n\nAssistant: Hello", "rejected": "\n\nHuman: Hi"}""", "field 'rejected' does not end with an 'Assistant:' turn", "rejected" },
        { """{"chosen": "\n\nHuman: Hi\n\nAssistant: ", "rejected": "\n\nHuman: Hi\n\nAssistant: Go away"}""", "field 'chosen' has an empty last 'Assistant:' turn", "chosen" },
        { """{"chosen": "\n\nHuman: Hi\n\nAssistant: Hello", "rejected": "\n\nHuman: Hey\n\nAssistant: Go away"}""", "field 'rejected' differs from 'chosen' before the last Assistant turn", "rejected" },
        { """{"chosen": "\n\nHuman: Hi\n\nAssistant: Hm\n\nAssistant: Hello", "rejected": "\n\nHuman: Hi\n\nAssistant: Hm\n\nAssistant: Go away"}""", "field 'chosen' must end its prompt with a user message, not 'assistant'", "chosen" },
        { $$"""{"chosen": [{{Msg}}, {"role": "assistant", "content": "Hello"}], "rejected": [{{Msg}}]}""", "field 'rejected' must end with an assistant message, not 'user'", "rejected" },
        { $$"""{"chosen": [{{Msg}}, {"role": "assistant"}], "rejected": [{{Msg}}]}""", "field 'chosen[1].content' is missing", "chosen[1].content" },
        { $$"""{"chosen": [{{Msg}}, {"role": 1, "content": "x"}], "rejected": [{{Msg}}]}""", "field 'chosen[1].role' must be a string, not a number", "chosen[1].role" },
        { $$"""{"chosen": [{{Msg}}, "Hello"], "rejected": [{{Msg}}]}""", "field 'chosen[1]' must be a {role, content} object, not a string", "chosen[1]" },
        { """{"chosen": [], "rejected": []}""", "field 'chosen' is empty", "chosen" },
        { $$"""{"chosen": [{{Msg}}, {"role": "assistant", "content": " "}], "rejected": [{{Msg}}, {"role": "assistant", "content": "x"}]}""", "field 'chosen' has an empty last assistant message", "chosen" },
        { $$"""{"chosen": [{{Msg}}, {"role": "assistant", "content": "Hello"}], "rejected": [{"role": "user", "content": "Hey"}, {"role": "assistant", "content": "x"}]}""", "field 'rejected' differs from 'chosen' before the last assistant message", "rejected" },
        { """{"chosen": [{"role": "assistant", "content": "Hello"}], "rejected": [{"role": "assistant", "content": "x"}]}""", "field 'chosen' has no prompt messages", "chosen" },
        { """{"prompt": 3, "chosen": [{"role": "assistant", "content": "Hello"}], "rejected": [{"role": "assistant", "content": "x"}]}""", "field 'prompt' must be a string, not a number", "prompt" },
    };

    [Theory]
    [MemberData(nameof(BadPairLines))]
    public async Task A_bad_pair_row_stops_the_read_with_file_line_and_field(string line, string reason, string? field)
    {
        // The first line sets the layout the second is read in: both have the same one.
        string path = TestFiles.WriteLines("pairs.jsonl", line.TrimStart().StartsWith('{') ? FirstLineLike(line) : """{"prompt": "Hi", "chosen": "Yes", "rejected": "No"}""", line);
        var reader = PreferenceDatasets.ReadAsync(path);
        var e = await Assert.ThrowsAsync<DatasetFormatException>(() => reader.ToListAsync().AsTask());

        Assert.Equal($"pairs.jsonl:2: {reason}", e.Message);
        Assert.Equal((field, reason, "pairs.jsonl:2"), (e.Field, e.Reason, e.Location));
        Assert.Equal(2, reader.RowsRead);
    }

    public static TheoryData<string, string, string?> BadPromptLines => new()
    {
        { """{"answer": "1"}""", "field 'prompt' is missing", "prompt" },
        { """{"prompt": " "}""", "field 'prompt' is empty", "prompt" },
        { """{"prompt": ["Hi"]}""", "field 'prompt[0]' must be a {role, content} object, not a string", "prompt[0]" },
        { """{"messages": []}""", "field 'messages' is empty", "messages" },
        { """{"messages": {"role": "user"}}""", "field 'messages' must be a list of {role, content} messages, not an object", "messages" },
        { """{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "4"}]}""", "field 'messages' must end its prompt with a user message, not 'assistant'", "messages" },
        { """{"messages": [{"role": "user", "content": ""}]}""", "field 'messages' has an empty last user message", "messages" },
        { """{"messages": [{"role": "", "content": "Hi"}]}""", "field 'messages[0].role' is empty", "messages[0].role" },
        { """{"question": 12, "answer": "#### 12"}""", "field 'question' must be a string, not a number", "question" },
        { """{"prompt": "Hi", "answer": ["4"]}""", "field 'answer' must be a string, not a list", "answer" },
        { """{"prompt": "Hi", "id": ""}""", "field 'id' is empty", "id" },
        { """{"prompt": "Hi", "id": "arith-1"}""", "field 'id' repeats 'arith-1' (first at line 1)", "id" },
        { """{"prompt": "Hi", "id": {"n": 1}}""", "field 'id' must be a string, not an object", "id" },
    };

    [Theory]
    [MemberData(nameof(BadPromptLines))]
    public async Task A_bad_prompt_row_stops_the_read_with_file_line_and_field(string line, string reason, string? field)
    {
        string first = line.Contains("\"messages\"", StringComparison.Ordinal) ? """{"messages": [{"role": "user", "content": "Hi"}]}"""
            : line.Contains("\"question\"", StringComparison.Ordinal) ? """{"question": "Hi"}"""
            : """{"prompt": "Hi"}""";
        string path = TestFiles.WriteLines("arith.jsonl", first, line);

        var e = await Assert.ThrowsAsync<DatasetFormatException>(() => PromptDatasets.ReadAsync(path).ToListAsync().AsTask());

        Assert.Equal($"arith.jsonl:2: {reason}", e.Message);
        Assert.Equal(field, e.Field);
    }

    [Theory]
    [InlineData("""{"prompt": "Hi", "chosen": "Yes", """, "malformed JSON: Expected start of a property name or value, but instead reached end of data (at byte 35)")]
    [InlineData("""{"prompt": "Hi", "chosen": "Yes", "chosen": "Sure", "rejected": "No"}""", "malformed JSON: Duplicate property 'chosen' encountered during deserialization")]
    [InlineData("""{"prompt": "Hi", "chosen": "Yes", "rejected": "No"} x""", "malformed JSON: 'x' is invalid after a single JSON value. Expected end of data (at byte 53)")]
    public async Task Malformed_json_and_duplicate_keys_stop_the_read_with_file_line_and_byte(string line, string reason)
    {
        string path = TestFiles.WriteLines("pairs.jsonl", """{"prompt": "Hi", "chosen": "Yes", "rejected": "No"}""", line);

        var e = await Assert.ThrowsAsync<DatasetFormatException>(() => PreferenceDatasets.ReadAsync(path).ToListAsync().AsTask());

        // System.Text.Json's own "LineNumber: 0 | BytePositionInLine: …" tail is replaced by the file's line and the byte in it.
        Assert.Equal($"pairs.jsonl:2: {reason}", e.Message);
        Assert.Null(e.Field);
    }

    [Fact]
    public async Task Bytes_that_are_not_utf8_make_their_line_a_bad_row_and_a_real_replacement_character_does_not()
    {
        string path = TestFiles.NewPath("prompts.jsonl");
        File.WriteAllBytes(path, [
            .. """{"id": "a", "prompt": "fine \uFFFD is a character"}"""u8, (byte)'\n',
            .. """{"id": "b", "prompt": "caf"""u8, 0xE9, .. """ au lait"}"""u8, (byte)'\n',
            .. """{"id": "c", "prompt": "ok"}"""u8, (byte)'\n']);

        var e = await Assert.ThrowsAsync<DatasetFormatException>(() => PromptDatasets.ReadAsync(path).ToListAsync().AsTask());
        Assert.Equal("prompts.jsonl:2: the line is not valid UTF-8 text (at character 27)", e.Message);

        string rejects = Path.Combine(Path.GetDirectoryName(path)!, "rejects-prompts.jsonl");
        var reader = PromptDatasets.ReadAsync(path, new DatasetReadOptions { SkipBad = true, RejectsPath = rejects });
        var kept = await reader.ToListAsync();
        Assert.Equal(["a", "c"], kept.Select(p => p.Id));
        Assert.Equal("fine \uFFFD is a character", kept[0].Messages[^1].Content);
        Assert.Contains("caf\uFFFD au lait", (string)JsonNode.Parse(File.ReadAllLines(rejects).Single())!["line"]!);
    }

    [Fact]
    public async Task A_prompt_check_makes_an_unusable_prompt_a_bad_row_strictly_or_with_skip_bad()
    {
        string path = TestFiles.WriteLines("prompts.jsonl", """{"id": "a", "prompt": "short"}""", """{"id": "b", "prompt": "far too long"}""", """{"id": "c", "prompt": "ok"}""");
        static string? Check(PromptRecord p) => p.Messages[^1].Content.Length > 8 ? $"prompt '{p.Id}' is too long" : null;

        var e = await Assert.ThrowsAsync<DatasetFormatException>(() => PromptDatasets.ReadAsync(path, new DatasetReadOptions { PromptCheck = Check }).ToListAsync().AsTask());
        Assert.Equal("prompts.jsonl:2: prompt 'b' is too long", e.Message);

        string rejects = Path.Combine(Path.GetDirectoryName(TestFiles.NewPath("x"))!, "out", "rejects-prompts.jsonl");
        var reader = PromptDatasets.ReadAsync(path, new DatasetReadOptions { PromptCheck = Check, SkipBad = true, RejectsPath = rejects });
        Assert.Equal(["a", "c"], (await reader.ToListAsync()).Select(p => p.Id));
        Assert.Equal(1, reader.RowsRejected);
        var written = JsonNode.Parse(File.ReadAllLines(rejects).Single())!;
        Assert.Equal(("prompts.jsonl:2", "prompt 'b' is too long"), ((string)written["source"]!, (string)written["reason"]!));
    }

    [Fact]
    public async Task Skip_bad_writes_each_bad_row_with_its_reason_to_the_rejects_file_and_counts_them()
    {
        string[] lines =
        [
            """{"prompt": "Hi", "chosen": "Yes", "rejected": "No"}""",
            """{"prompt": "Hi", "chosen": "", "rejected": "No"}""",
            """not json""",
            "",
            """{"prompt": "Hi", "chosen": "Same", "rejected": "Same"}""",
            """{"prompt": "Hi", "chosen": "Yes", "rejected": "Nope", "margin": 1}""",
        ];
        string path = TestFiles.WriteLines("pairs.jsonl", lines);
        string rejects = Path.Combine(Path.GetDirectoryName(TestFiles.NewPath("x"))!, "out", "rejects.jsonl");

        var reader = PreferenceDatasets.ReadAsync(path, new DatasetReadOptions { SkipBad = true, RejectsPath = rejects });
        var pairs = await reader.ToListAsync();

        Assert.Equal(["pairs.jsonl:1", "pairs.jsonl:6"], pairs.Select(p => p.Source));
        Assert.Equal((5, 3), (reader.RowsRead, reader.RowsRejected));
        var written = File.ReadAllLines(rejects).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(["pairs.jsonl:2", "pairs.jsonl:3", "pairs.jsonl:5"], written.Select(r => (string)r["source"]!));
        Assert.Equal("field 'chosen' is empty", (string)written[0]["reason"]!);
        Assert.StartsWith("malformed JSON: ", (string)written[1]["reason"]!, StringComparison.Ordinal);
        Assert.Equal("field 'rejected' is the same as 'chosen'", (string)written[2]["reason"]!);
        Assert.Equal([lines[1], lines[2], lines[4]], written.Select(r => (string)r["line"]!));

        // Reading again starts over: the counts and the rejects file are the second read's alone.
        await reader.ToListAsync();
        Assert.Equal((5, 3), (reader.RowsRead, reader.RowsRejected));
        Assert.Equal(3, File.ReadAllLines(rejects).Length);
    }

    [Fact]
    public async Task Skip_bad_without_a_rejects_file_only_counts()
    {
        string path = TestFiles.WriteLines("arith.jsonl", """{"prompt": "Hi"}""", """{"prompt": ""}""", """{"prompt": "Hi", "id": "arith-1"}""");

        var reader = PromptDatasets.ReadAsync(path, new DatasetReadOptions { SkipBad = true });

        Assert.Single(await reader.ToListAsync());
        Assert.Equal((3, 2), (reader.RowsRead, reader.RowsRejected));
    }

    [Fact]
    public async Task Wrong_types_in_parquet_columns_are_bad_rows_with_row_numbers()
    {
        var schema = new ParquetSchema(ParquetField.Of("prompt", FieldType.String), ParquetField.Of("chosen", FieldType.Int64), ParquetField.Of("rejected", FieldType.Binary));
        string path = await TestFiles.WriteParquetAsync("pairs.parquet", schema,
            PairFormatTests.Row(("prompt", "Hi"), ("chosen", 4L), ("rejected", "No"u8.ToArray())),
            PairFormatTests.Row(("prompt", "Hi"), ("chosen", null), ("rejected", "No"u8.ToArray())));

        var e = await Assert.ThrowsAsync<DatasetFormatException>(() => PreferenceDatasets.ReadAsync(path).ToListAsync().AsTask());
        Assert.Equal("pairs.parquet:row 1: field 'chosen' must be a string, not a number", e.Message);

        string rejects = TestFiles.NewPath("rejects.jsonl");
        var reader = PreferenceDatasets.ReadAsync(path, new DatasetReadOptions { SkipBad = true, RejectsPath = rejects });
        Assert.Empty(await reader.ToListAsync());
        Assert.Equal((2, 2), (reader.RowsRead, reader.RowsRejected));
        var written = File.ReadAllLines(rejects).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(["pairs.parquet:row 1", "pairs.parquet:row 2"], written.Select(r => (string)r["source"]!));
        Assert.Equal("field 'chosen' is null", (string)written[1]["reason"]!);
        Assert.Equal("""{"prompt":"Hi","chosen":4,"rejected":"Tm8="}""", written[0]["row"]!.ToJsonString());
    }

    [Fact]
    public async Task Binary_parquet_values_that_are_not_utf8_are_bad_rows()
    {
        var schema = new ParquetSchema(ParquetField.Of("prompt", FieldType.Binary));
        string path = await TestFiles.WriteParquetAsync("prompts.parquet", schema, PairFormatTests.Row(("prompt", new byte[] { 0x48, 0xff })));

        var e = await Assert.ThrowsAsync<DatasetFormatException>(() => PromptDatasets.ReadAsync(path).ToListAsync().AsTask());

        Assert.Equal("prompts.parquet:row 1: field 'prompt' holds binary data that is not UTF-8 text", e.Message);
    }

    [Fact]
    public async Task A_corrupt_parquet_file_raises_dataset_format_exception_wrapping_the_parquet_one()
    {
        var schema = new ParquetSchema(ParquetField.Of("prompt", FieldType.String), ParquetField.Of("chosen", FieldType.String), ParquetField.Of("rejected", FieldType.String));
        string path = await TestFiles.WriteParquetAsync("pairs.parquet", schema, PairFormatTests.Row(("prompt", "Hi"), ("chosen", "Yes"), ("rejected", "No")));
        byte[] bytes = File.ReadAllBytes(path);

        // The first column chunk starts right after the leading magic: garble its page header, leaving the footer intact.
        Array.Fill(bytes, (byte)0xff, 4, 8);
        File.WriteAllBytes(path, bytes);

        var e = await Assert.ThrowsAsync<DatasetFormatException>(() => PreferenceDatasets.ReadAsync(path, new DatasetReadOptions { SkipBad = true }).ToListAsync().AsTask());

        var inner = Assert.IsType<ParquetFormatException>(e.InnerException);
        Assert.Equal($"pairs.parquet: {inner.Message}", e.Message);
        Assert.NotNull(inner.ColumnPath);
        Assert.Equal(inner.ColumnPath, e.Field);
        Assert.Contains($"column '{inner.ColumnPath}' at byte offset {inner.Offset}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_parquet_file_names_the_file_and_the_footer_fault()
    {
        var schema = new ParquetSchema(ParquetField.Of("prompt", FieldType.String));
        string path = await TestFiles.WriteParquetAsync("prompts.parquet", schema, PairFormatTests.Row(("prompt", "Hi")));
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^3]);

        var e = await Assert.ThrowsAsync<DatasetFormatException>(() => PromptDatasets.ReadAsync(path).ToListAsync().AsTask());

        Assert.IsType<ParquetFormatException>(e.InnerException);
        Assert.StartsWith("prompts.parquet: Invalid Parquet file (footer) at byte offset ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_corrupt_gzip_file_names_the_file_and_line_and_a_truncated_one_ends_in_a_bad_line()
    {
        string good = TestFiles.WriteGzipLines("pairs.jsonl.gz", Enumerable.Range(1, 20_000).Select(i => $$"""{"prompt": "Hi {{i}}", "chosen": "Yes {{i * 7919 % 10007}}", "rejected": "No"}"""));
        byte[] bytes = File.ReadAllBytes(good);
        string truncated = TestFiles.NewPath("pairs.jsonl.gz");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        bytes[2] = 0x55; // the compression method: 8 (deflate) is the only one
        string garbled = TestFiles.NewPath("pairs.jsonl.gz");
        File.WriteAllBytes(garbled, bytes);

        var reader = PreferenceDatasets.ReadAsync(garbled, new DatasetReadOptions { SkipBad = true });
        var e = await Assert.ThrowsAsync<DatasetFormatException>(() => reader.ToListAsync().AsTask());
        Assert.StartsWith("pairs.jsonl.gz:1: the gzip data is corrupt at or after this line: ", e.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidDataException>(e.InnerException);

        // .NET's GZipStream ends a truncated stream without an error; what shows it is the cut last line.
        reader = PreferenceDatasets.ReadAsync(truncated);
        e = await Assert.ThrowsAsync<DatasetFormatException>(() => reader.ToListAsync().AsTask());
        Assert.StartsWith($"pairs.jsonl.gz:{reader.RowsRead}: malformed JSON: ", e.Message, StringComparison.Ordinal);
        Assert.InRange(reader.RowsRead, 2, 19_999);
    }

    [Fact]
    public async Task An_empty_jsonl_file_has_no_rows_but_an_empty_parquet_file_is_corrupt()
    {
        var reader = PromptDatasets.ReadAsync(TestFiles.WriteLines("arith.jsonl"));
        Assert.Empty(await reader.ToListAsync());
        Assert.Equal(0, reader.RowsRead);

        var e = await Assert.ThrowsAsync<DatasetFormatException>(() => PromptDatasets.ReadAsync(TestFiles.WriteLines("arith.parquet")).ToListAsync().AsTask());
        Assert.Equal("arith.parquet: Invalid Parquet file (footer) at byte offset 0: the file is 0 bytes, too short for a Parquet file", e.Message);
    }

    [Fact]
    public void A_missing_file_is_bad_input_naming_it()
    {
        string path = TestFiles.NewPath("absent.jsonl");

        var pairs = Assert.Throws<DatasetFormatException>(() => PreferenceDatasets.ReadAsync(path));
        var prompts = Assert.Throws<DatasetFormatException>(() => PromptDatasets.ReadAsync(path));

        Assert.Equal(path, pairs.Location);
        Assert.Equal($"{path}: dataset file not found", prompts.Message);
    }

    /// <summary>A row of the same layout as <paramref name="line"/> but good, so that detection picks that layout.</summary>
    private static string FirstLineLike(string line) =>
        line.Contains("\"chosen\": [", StringComparison.Ordinal) ? $$"""{"chosen": [{{Msg}}, {"role": "assistant", "content": "Hello"}], "rejected": [{{Msg}}, {"role": "assistant", "content": "Go away"}]}"""
        : line.Contains("\"prompt\"", StringComparison.Ordinal) ? """{"prompt": "Hi", "chosen": "Yes", "rejected": "No"}"""
        : HhRow;

}
