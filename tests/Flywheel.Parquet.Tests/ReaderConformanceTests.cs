namespace Flywheel.Parquet.Tests;

[Collection("judges")]
public sealed class ReaderConformanceTests(JudgesFixture judges)
{
    /// <summary>
    /// parquet-testing files this reader does not read, and why. Each must still fail cleanly with a
    /// <see cref="ParquetFormatException"/> (checked below), so the list cannot hide a crash.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Skipped = new Dictionary<string, string>
    {
        ["hadoop_lz4_compressed.parquet"] = "LZ4 codec (out of scope)",
        ["hadoop_lz4_compressed_larger.parquet"] = "LZ4 codec (out of scope)",
        ["non_hadoop_lz4_compressed.parquet"] = "LZ4 codec (out of scope)",
        ["lz4_raw_compressed.parquet"] = "LZ4_RAW codec (out of scope)",
        ["lz4_raw_compressed_larger.parquet"] = "LZ4_RAW codec (out of scope)",
        ["uniform_encryption.parquet.encrypted"] = "encrypted (out of scope)",
        ["large_string_map.brotli.parquet"] = "a string column chunk over 2 GB decompressed (out of scope)",
        ["nation.dict-malformed.parquet"] = "malformed: its column chunk is shorter than its pages (rejected on purpose)",
        ["datapage_v1-corrupt-checksum.parquet"] = "corrupt page checksum: rejected on purpose",
        ["rle-dict-uncompressed-corrupt-checksum.parquet"] = "corrupt page checksum: rejected on purpose",
    };

    /// <summary>Files DuckDB cannot read, judged by arrow-rs instead.</summary>
    private static readonly Dictionary<string, string> OtherJudge = new()
    {
        ["byte_stream_split_extended.gzip.parquet"] = "arrow-rs",
        ["map_no_value.parquet"] = "arrow-rs",
    };

    /// <summary>Rows where the judge is wrong, so that the rest of the file is still compared.</summary>
    private static readonly Dictionary<string, (int Row, string Why)> KnownDisagreements = new()
    {
        ["int96_from_spark.parquet"] = (5, "a timestamp in the year 226414 BC, outside int64 microseconds: DuckDB wraps it around, we give null"),
    };

    public static TheoryData<string> Fixtures() => Files(TestData.Fixtures, "*.parquet");

    public static TheoryData<string> CorpusFiles() => Files(TestData.ParquetTesting, "*.parquet");

    [SkippableTheory]
    [MemberData(nameof(Fixtures))]
    public async Task DuckDbFixture_ReadsValueForValue(string name)
    {
        Skip.If(name.Length == 0, TestData.MissingMessage(TestData.Fixtures));
        var path = Path.Combine(TestData.Fixtures, name);
        var expected = File.ReadAllLines(Path.ChangeExtension(path, ".expected.jsonl")).Where(l => l.Length > 0).ToList();
        var actual = await ReadCanonical(path);
        Canon.AssertSameRows(expected, actual, name);
    }

    [SkippableTheory]
    [MemberData(nameof(CorpusFiles))]
    public async Task ParquetTestingFile_MatchesAJudge(string name)
    {
        Skip.If(name.Length == 0, TestData.MissingMessage(TestData.ParquetTesting));
        var path = Path.Combine(TestData.ParquetTesting, name);
        if (Skipped.ContainsKey(name))
        {
            await Assert.ThrowsAsync<ParquetFormatException>(() => ReadCanonical(path));
            return;
        }

        Skip.If(judges.Unavailable is not null, judges.Unavailable);
        var judge = OtherJudge.GetValueOrDefault(name, "duckdb");
        var expected = judges.Read(judge, path);
        Assert.False(expected.Count == 1 && expected[0].StartsWith("### ERROR", StringComparison.Ordinal), $"{judge} cannot read {name}: {string.Join("", expected)}");
        var actual = await ReadCanonical(path);
        if (KnownDisagreements.TryGetValue(name, out var known))
        {
            actual[known.Row] = expected[known.Row];
        }

        Canon.AssertSameRows(expected, actual, name);
    }

    [SkippableTheory]
    [InlineData("delta_binary_packed.parquet")]
    [InlineData("delta_byte_array.parquet")]
    [InlineData("delta_encoding_optional_column.parquet")]
    [InlineData("delta_encoding_required_column.parquet")]
    public async Task ParquetTestingFile_MatchesItsExpectCsv(string name)
    {
        var path = Path.Combine(TestData.ParquetTesting, name);
        Skip.IfNot(File.Exists(path), TestData.MissingMessage(TestData.ParquetTesting));
        var csv = File.ReadAllLines(path.Replace(".parquet", "_expect.csv", StringComparison.Ordinal));
        await using var reader = await ParquetReader.OpenAsync(path);
        int i = 1;
        await foreach (var row in reader.ReadRowsAsync())
        {
            var expected = SplitCsv(csv[i++]);
            var actual = row.Values.Select(v => v is null ? null : Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(expected, actual);
        }

        Assert.Equal(csv.Length, i);
    }

    internal static async Task<List<string>> ReadCanonical(string path)
    {
        await using var reader = await ParquetReader.OpenAsync(path);
        var lines = new List<string>();
        await foreach (var row in reader.ReadRowsAsync())
        {
            lines.Add(Canon.Line(row));
        }

        Assert.Equal(reader.RowCount, lines.Count);
        return lines;
    }

    /// <summary>Splits a line of the corpus's CSV files: quoted fields, and empty unquoted fields for null.</summary>
    private static List<string?> SplitCsv(string line)
    {
        var fields = new List<string?>();
        int i = 0;
        while (i <= line.Length)
        {
            if (i < line.Length && line[i] == '"')
            {
                int end = line.IndexOf('"', i + 1);
                fields.Add(line[(i + 1)..end]);
                i = end + 2;
            }
            else
            {
                int end = line.IndexOf(',', i);
                end = end < 0 ? line.Length : end;
                fields.Add(end == i ? null : line[i..end]);
                i = end + 1;
            }
        }

        return fields;
    }

    private static TheoryData<string> Files(string dir, string pattern)
    {
        var data = new TheoryData<string>();
        if (!Directory.Exists(dir))
        {
            data.Add("");
            return data;
        }

        foreach (var f in Directory.GetFiles(dir, pattern).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(f));
        }

        return data;
    }
}
