using System.Text.Json.Nodes;

namespace Flywheel.Parquet.Tests;

/// <summary>The public API the CLI and the pipeline use: inspect, typed records, declared schemas, options.</summary>
public sealed class ApiTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flywheel-parquet-api-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Inspect_ShowsSchemaTree_RowGroups_Metadata_Statistics_AndLimitedJsonRows()
    {
        var path = Path.Combine(_dir, "sft.parquet");
        var rng = new Random(1);
        var options = new ParquetSerializerOptions
        {
            ColumnNaming = ColumnNaming.SnakeCase,
            Writer = new ParquetWriterOptions { RowGroupSize = 16 << 10, KeyValueMetadata = new Dictionary<string, string> { ["flywheel.config_hash"] = "abc123" } },
        };
        await ParquetSerializer.SerializeAsync(Enumerable.Range(0, 500).Select(i => Generate.Sft(rng, i)), path, options);

        await using var reader = await ParquetReader.OpenAsync(path);
        Assert.Equal(
            """
            message schema
              optional group messages (LIST)
                repeated group list
                  required group element
                    required BYTE_ARRAY role (STRING)
                    required BYTE_ARRAY content (STRING)
              required BYTE_ARRAY prompt_id (STRING)
              required BYTE_ARRAY prompt (STRING)
              optional BYTE_ARRAY completion (STRING)
              required DOUBLE reward
              required INT32 rank
              required INT32 round
              required BYTE_ARRAY policy (STRING)
              required BYTE_ARRAY reward_model (STRING)
            """,
            reader.Schema.ToString());
        Assert.Equal("messages.list.element.role", reader.Schema.Columns[0].Path);
        Assert.Equal((2, 1), (reader.Schema.Columns[0].MaxDefinitionLevel, reader.Schema.Columns[0].MaxRepetitionLevel));
        Assert.Equal(500, reader.RowCount);
        Assert.True(reader.RowGroups.Count > 1);
        Assert.Equal(500, reader.RowGroups.Sum(g => g.RowCount));
        Assert.Equal("abc123", reader.KeyValueMetadata["flywheel.config_hash"]);
        var rank = reader.RowGroups[0].Columns.Single(c => c.Path == "rank");
        Assert.Equal((0, 3, 0L), (rank.Min, rank.Max, rank.NullCount));
        Assert.Equal(ParquetCompression.Zstd, rank.Compression);
        Assert.Contains("RLE_DICTIONARY", rank.Encodings);
        Assert.True(reader.RowGroups[0].Columns.Single(c => c.Path == "completion").NullCount > 0);

        var rows = await reader.ReadJsonAsync(new ParquetReadOptions { MaxRows = 8, Columns = ["messages", "completion"] }).ToListAsync();
        Assert.Equal(8, rows.Count);
        Assert.Equal(["messages", "completion"], rows[2].Select(kv => kv.Key));
        Assert.Null(rows[0]["messages"]);
        Assert.Empty(rows[1]["messages"]!.AsArray());
        Assert.IsType<JsonObject>(rows[2]["messages"]![0]);
        Assert.Null(rows[0]["completion"]);
    }

    [Fact]
    public async Task DeclaredSchema_AndDictionaryRows_RoundTrip()
    {
        var schema = new ParquetSchema(
            ParquetField.Of("id", FieldType.Int64, nullable: false),
            ParquetField.List("tags", ParquetField.Of("element", FieldType.String)),
            ParquetField.Struct("meta", true, ParquetField.Of("score", FieldType.Double), ParquetField.Of("ok", FieldType.Boolean, nullable: false)));
        var path = Path.Combine(_dir, "declared.parquet");
        await using (var writer = ParquetWriter.Create(path, schema, new ParquetWriterOptions { Compression = ParquetCompression.Gzip }))
        {
            await writer.WriteRowAsync(new Dictionary<string, object?> { ["id"] = 1L, ["tags"] = new[] { "a", null }, ["meta"] = new Dictionary<string, object?> { ["score"] = 0.5, ["ok"] = true } });
            await writer.WriteRowAsync(new Dictionary<string, object?> { ["id"] = 2, ["tags"] = null, ["meta"] = null });
            var bad = await Assert.ThrowsAsync<ArgumentException>(async () => await writer.WriteRowAsync(new Dictionary<string, object?> { ["id"] = null }));
            Assert.Contains("'id'", bad.Message, StringComparison.Ordinal);
            await writer.CompleteAsync();
        }

        await using var reader = await ParquetReader.OpenAsync(path);
        var lines = await reader.ReadJsonAsync().Select(r => r.ToJsonString()).ToListAsync();
        Assert.Equal(["""{"id":1,"tags":["a",null],"meta":{"score":0.5,"ok":true}}""", """{"id":2,"tags":null,"meta":null}"""], lines);
    }

    [Fact]
    public async Task TypedRecords_PairsAndPrompts_RoundTrip_WithColumnAttributes()
    {
        var path = Path.Combine(_dir, "prompts.parquet");
        PromptRecord[] prompts = [new("a", "What is 2+2?", "#### 4"), new("b", "Hi", null)];
        await ParquetSerializer.SerializeAsync(prompts, path);
        Assert.Equal(["id", "Prompt", "Answer"], ParquetSerializer.SchemaOf<PromptRecord>().Fields.Select(f => f.Name));
        Assert.Equal(prompts, await ParquetSerializer.DeserializeAsync<PromptRecord>(path).ToListAsync());

        var pairsPath = Path.Combine(_dir, "pairs.parquet");
        PreferencePair[] pairs = [new("p", "good", "bad", 1.5), new("q", "yes", "no", null)];
        await ParquetSerializer.SerializeAsync(pairs, pairsPath, new ParquetSerializerOptions { ColumnNaming = ColumnNaming.SnakeCase });
        Assert.Equal(pairs, await ParquetSerializer.DeserializeAsync<PreferencePair>(pairsPath, new ParquetSerializerOptions { ColumnNaming = ColumnNaming.SnakeCase }).ToListAsync());
    }

    [Fact]
    public async Task RequiredNull_NamesTheColumn_AndLeavesNoFile()
    {
        var path = Path.Combine(_dir, "never.parquet");
        var rows = new[] { new SftRow { Prompt = null!, Messages = [new Message("user", "x")] } };
        var e = await Assert.ThrowsAsync<ArgumentException>(() => ParquetSerializer.SerializeAsync(rows, path));
        Assert.Contains("'Prompt'", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public async Task Dictionary_FallsBackToPlain_WhenDistinctValuesOutgrowTheLimit()
    {
        var path = Path.Combine(_dir, "fallback.parquet");
        var rows = Enumerable.Range(0, 5000).Select(i => new PromptRecord(i % 3 == 0 ? "same" : "id" + i, new string('x', 50) + i, null));
        await ParquetSerializer.SerializeAsync(rows, path, new ParquetSerializerOptions { Writer = new ParquetWriterOptions { DictionaryLimit = 16 << 10 } });
        await using var reader = await ParquetReader.OpenAsync(path);
        var columns = reader.RowGroups[0].Columns;
        Assert.DoesNotContain("RLE_DICTIONARY", columns.Single(c => c.Path == "Prompt").Encodings);
        Assert.Equal(5000, await reader.ReadRowsAsync().CountAsync());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task RowGroups_AfterADictionaryFallback_StartTheirOwnDictionary_AndReadBackExactly(bool overlap)
    {
        // Column buffers are reused from one row group to the next (swapped, when overlapped): a group that fell back
        // to PLAIN must leave nothing behind for the next, which holds few distinct values again.
        var path = Path.Combine(_dir, $"reuse-{overlap}.parquet");
        var rows = Enumerable.Range(0, 4000).Select(i => i < 2000
            ? new Measured("distinct " + i, i * 0.5, i)
            : new Measured("few " + (i % 3), i % 3, i % 2)).ToList();
        var options = new ParquetSerializerOptions { Writer = new ParquetWriterOptions { DictionaryLimit = 2 << 10, RowGroupSize = 24 << 10, OverlapRowGroups = overlap } };
        await ParquetSerializer.SerializeAsync(rows, path, options);

        await using var reader = await ParquetReader.OpenAsync(path);
        Assert.True(reader.RowGroups.Count > 2);
        foreach (string column in new[] { "Text", "Score", "Count" })
        {
            Assert.DoesNotContain("RLE_DICTIONARY", reader.RowGroups[0].Columns.Single(c => c.Path == column).Encodings);
            Assert.Contains("RLE_DICTIONARY", reader.RowGroups[^1].Columns.Single(c => c.Path == column).Encodings);
        }

        Assert.Equal(rows, await ParquetSerializer.DeserializeAsync<Measured>(path).ToListAsync());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_row_group_that_fails_to_write_fails_the_writer_and_disposing_still_works(bool overlap)
    {
        // Overlapped, row groups are written in the background while the next one fills: the failure must still reach the caller.
        var stream = new FailingStream(failAfter: 8 << 10);
        var options = new ParquetSerializerOptions { Writer = new ParquetWriterOptions { RowGroupSize = 2 << 10, OverlapRowGroups = overlap } };
        var writer = ParquetSerializer.CreateWriter<Measured>(stream, options);
        var e = await Assert.ThrowsAsync<IOException>(async () =>
        {
            for (int i = 0; i < 5000; i++)
            {
                await writer.WriteAsync(new Measured("row " + i, i, i));
            }

            await writer.CompleteAsync();
        });
        Assert.Equal("disk full", e.Message);
        await writer.DisposeAsync();
    }

    [Theory]
    [InlineData("PromptId", "prompt_id")]
    [InlineData("RewardModel", "reward_model")]
    [InlineData("HTTPStatus", "http_status")]
    [InlineData("Round2Score", "round2_score")]
    public void SnakeCase_Names(string name, string expected) =>
        Assert.Equal(expected, Serialization.TypeSchema.SnakeCase(name));

    private sealed record Measured(string Text, double Score, long Count);

    private sealed class FailingStream(long failAfter) : MemoryStream
    {
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Check(buffer.Length);
            base.Write(buffer);
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Check(count);
            base.Write(buffer, offset, count);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Check(buffer.Length);
            return base.WriteAsync(buffer, cancellationToken);
        }

        private void Check(int count)
        {
            if (Length + count > failAfter) throw new IOException("disk full");
        }
    }
}
