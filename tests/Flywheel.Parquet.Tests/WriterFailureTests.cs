using System.Runtime.CompilerServices;

namespace Flywheel.Parquet.Tests;

/// <summary>
/// Failures while writing: a row that fails half-way is not written at all, and a file written by path leaves
/// nothing behind when it fails (and only the target when it succeeds).
/// </summary>
public sealed class WriterFailureTests : IDisposable
{
    private static readonly ParquetSchema Declared = new(
        ParquetField.Of("id", FieldType.Int64, nullable: false),
        ParquetField.Of("name", FieldType.String),
        ParquetField.List("tags", ParquetField.Of("element", FieldType.String)),
        ParquetField.Struct("meta", true, ParquetField.Of("score", FieldType.Double), ParquetField.Of("ok", FieldType.Boolean, nullable: false)),
        ParquetField.Of("count", FieldType.Int32, nullable: false));

    private readonly string _dir = Directory.CreateTempSubdirectory("flywheel-parquet-fail-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_row_that_fails_half_way_is_not_written_and_the_rows_after_it_are(bool dictionary)
    {
        var options = new ParquetWriterOptions { UseDictionary = dictionary };
        var good = Enumerable.Range(0, 300).Select(GoodRow).ToList();
        var reference = Path.Combine(_dir, "reference.parquet");
        await using (var writer = ParquetWriter.Create(reference, Declared, options))
        {
            foreach (var row in good)
            {
                await writer.WriteRowAsync(row);
            }

            await writer.CompleteAsync();
        }

        // Each bad row fails after some of its columns were shredded: at meta.ok, at count, inside the tags list.
        Dictionary<string, object?>[] bad =
        [
            new() { ["id"] = 10_000L, ["name"] = "zzz bad", ["tags"] = new[] { "bad1", "bad2" }, ["meta"] = new Dictionary<string, object?> { ["score"] = -1000.0, ["ok"] = null }, ["count"] = 1 },
            new() { ["id"] = 10_001L, ["name"] = "zzz bad", ["tags"] = new[] { "bad3" }, ["meta"] = null, ["count"] = 1L << 40 },
            new() { ["id"] = 10_002L, ["name"] = "zzz bad", ["tags"] = new object[] { "bad4", 7 }, ["meta"] = null, ["count"] = 1 },
        ];
        var path = Path.Combine(_dir, "after-failures.parquet");
        await using (var writer = ParquetWriter.Create(path, Declared, options))
        {
            for (int i = 0; i < good.Count; i++)
            {
                if (i % 50 == 25)
                {
                    await Assert.ThrowsAsync<ArgumentException>(async () => await writer.WriteRowAsync(bad[i / 50 % bad.Length]));
                }

                await writer.WriteRowAsync(good[i]);
            }

            await writer.CompleteAsync();
        }

        await AssertSameAsAsync(reference, path);

        // The failed rows' values are in no statistics either (nor in a dictionary they were added to).
        await using var reader = await ParquetReader.OpenAsync(path);
        Assert.Equal(good.Count, reader.RowCount);
        var columns = reader.RowGroups[0].Columns;
        Assert.Equal("name 99", columns.Single(c => c.Path == "name").Max);
        Assert.Equal(0.5, columns.Single(c => c.Path == "meta.score").Min);
    }

    [Fact]
    public async Task A_typed_record_that_fails_half_way_is_not_written_and_the_records_after_it_are()
    {
        var good = Enumerable.Range(0, 100).Select(i => new PromptRecord("id" + i, "prompt " + i, i % 2 == 0 ? null : "#### " + i)).ToList();
        var reference = Path.Combine(_dir, "reference.parquet");
        await ParquetSerializer.SerializeAsync(good, reference);

        // The id column takes its value before Prompt, required, is found null.
        var path = Path.Combine(_dir, "after-failures.parquet");
        await using (var writer = ParquetSerializer.CreateWriter<PromptRecord>(path))
        {
            for (int i = 0; i < good.Count; i++)
            {
                if (i % 10 == 5)
                {
                    var e = await Assert.ThrowsAsync<ArgumentException>(async () => await writer.WriteAsync(new PromptRecord("bad" + i, null!, "bad")));
                    Assert.Contains("'Prompt'", e.Message, StringComparison.Ordinal);
                }

                await writer.WriteAsync(good[i]);
            }

            await writer.CompleteAsync();
        }

        Assert.Equal(good, await ParquetSerializer.DeserializeAsync<PromptRecord>(path).ToListAsync());
        await AssertSameAsAsync(reference, path);
    }

    [Fact]
    public async Task A_serialization_that_fails_mid_way_leaves_no_file_and_no_temporary()
    {
        var path = Path.Combine(_dir, "target.parquet");
        string[] during = [], cleanable = [];
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => ParquetSerializer.SerializeAsync(Failing(), path));
        Assert.Equal("source failed", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));

        // While it was being written, the one file there was a temporary that the pipeline's cleanup (AtomicFile.CleanUp: *.tmp-*) recognises.
        var temp = Assert.Single(during);
        Assert.Matches($@"^target\.parquet\.tmp-{Environment.ProcessId}-[0-9a-f]{{32}}$", Path.GetFileName(temp));
        Assert.Equal([temp], cleanable);

        async IAsyncEnumerable<PromptRecord> Failing([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            for (int i = 0; i < 500; i++)
            {
                await Task.Yield();
                yield return new PromptRecord("id" + i, "prompt " + i, null);
            }

            during = Directory.GetFileSystemEntries(_dir);
            cleanable = Directory.GetFiles(_dir, "*.tmp-*", SearchOption.AllDirectories);
            throw new InvalidOperationException("source failed");
        }
    }

    [Fact]
    public async Task A_serialization_whose_rename_fails_leaves_no_temporary()
    {
        // The target is a directory, so the final move fails after the file was written in full.
        var path = Path.Combine(_dir, "target.parquet");
        Directory.CreateDirectory(path);
        await Assert.ThrowsAnyAsync<IOException>(() => ParquetSerializer.SerializeAsync([new PromptRecord("a", "b", null)], path));
        Assert.Equal([path], Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public async Task A_successful_serialization_leaves_exactly_the_target()
    {
        var path = Path.Combine(_dir, "target.parquet");
        PromptRecord[] rows = [new("a", "b", null), new("c", "d", "e")];
        await ParquetSerializer.SerializeAsync(rows, path);
        Assert.Equal([path], Directory.GetFileSystemEntries(_dir));
        Assert.Equal(rows, await ParquetSerializer.DeserializeAsync<PromptRecord>(path).ToListAsync());
    }

    private static Dictionary<string, object?> GoodRow(int i) => new()
    {
        ["id"] = (long)i,
        ["name"] = i % 7 == 0 ? null : "name " + (i % 100),
        ["tags"] = i % 5 == 0 ? null : Enumerable.Range(0, i % 4).Select(t => "tag " + t).ToArray(),
        ["meta"] = i % 3 == 0 ? null : new Dictionary<string, object?> { ["score"] = i * 0.5, ["ok"] = i % 2 == 0 },
        ["count"] = i % 11,
    };

    /// <summary>Our reader and every judge read <paramref name="path"/> as they read the reference file.</summary>
    private static async Task AssertSameAsAsync(string reference, string path)
    {
        Canon.AssertSameRows(await ReaderConformanceTests.ReadCanonical(reference), await ReaderConformanceTests.ReadCanonical(path), "ours");
        foreach (var (judge, read) in Judges.All)
        {
            Canon.AssertSameRows(read(reference), read(path), judge);
        }
    }
}
