namespace Flywheel.Parquet.Tests;

public sealed class ReaderConformanceTests
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

    /// <summary>
    /// Files of the rest that a judge cannot read, and why; the others judge them. The judge must still fail on
    /// each (checked below), so that one that learns to read it is noticed and put to work.
    /// </summary>
    private static readonly Dictionary<string, Dictionary<string, string>> CannotRead = new()
    {
        ["DuckDB"] = new()
        {
            ["byte_stream_split_extended.gzip.parquet"] = "BYTE_STREAM_SPLIT is only supported for FLOAT or DOUBLE",
            ["map_no_value.parquet"] = "MAP_KEY_VALUE requires two children",
        },
        ["ParquetSharp"] = new()
        {
            ["byte_array_decimal.parquet"] = "its column API has no DECIMAL on BYTE_ARRAY",
            ["old_list_structure.parquet"] = "its column API reads repeated fields only as the middle level of a LIST or MAP",
            ["repeated_no_annotation.parquet"] = "its column API reads repeated fields only as the middle level of a LIST or MAP",
            ["repeated_primitive_no_list.parquet"] = "its column API reads repeated fields only as the middle level of a LIST or MAP",
            ["unknown-logical-type.parquet"] = "an unknown logical type",
        },
    };

    /// <summary>Rows where a judge is wrong, so that the rest of the file is still compared.</summary>
    private static readonly Dictionary<(string Judge, string File), (int Row, Func<string, bool> Ours, string Why)> KnownDisagreements = new()
    {
        [("DuckDB", "int96_from_spark.parquet")] = (5, IsNullRow, "a timestamp in the year 226414 BC, outside int64 microseconds: DuckDB wraps it around, we give null"),
        [("ParquetSharp", "int96_from_spark.parquet")] = (5, IsNullRow, "the same timestamp: the judge's exact count of microseconds (past int64's range), where we give null"),
    };

    // int96_from_spark.parquet has one column: the row we give is that one value, null.
    private static bool IsNullRow(string row) => row.Contains("null", StringComparison.Ordinal) && !row.Any(char.IsDigit);

    public static TheoryData<string> Fixtures() => Files(TestData.Fixtures, "*.parquet");

    public static TheoryData<string> CorpusFiles() => Files(TestData.ParquetTesting, "*.parquet");

    [Theory]
    [MemberData(nameof(Fixtures))]
    public async Task DuckDbFixture_ReadsValueForValue(string name)
    {
        var path = Path.Combine(TestData.Fixtures, name);
        var expected = File.ReadAllLines(Path.ChangeExtension(path, ".expected.jsonl")).Where(l => l.Length > 0).ToList();
        var actual = await ReadCanonical(path);
        Canon.AssertSameRows(expected, actual, name);
        foreach (var (judge, read) in Judges.All)
        {
            Canon.AssertSameRows(read(path), actual, $"{judge}: {name}");
        }
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public async Task ParquetTestingFile_MatchesTheJudges(string name)
    {
        var path = Path.Combine(TestData.ParquetTesting, name);
        if (Skipped.ContainsKey(name))
        {
            await Assert.ThrowsAsync<ParquetFormatException>(() => ReadCanonical(path));
            return;
        }

        var ours = await ReadCanonical(path);
        int judged = 0;
        foreach (var (judge, read) in Judges.All)
        {
            if (CannotRead[judge].ContainsKey(name))
            {
                Assert.ThrowsAny<Exception>(() => { read(path); });
                continue;
            }

            var expected = read(path);
            var actual = new List<string>(ours);
            if (KnownDisagreements.TryGetValue((judge, name), out var known))
            {
                // That row is judged by what we give there, and must still differ from the judge's (else the entry is stale).
                Assert.True(known.Ours(actual[known.Row]), $"{judge}: {name}: row {known.Row} is {actual[known.Row]}, not what {known.Why}");
                Assert.NotEqual(expected[known.Row], actual[known.Row]);
                expected.RemoveAt(known.Row);
                actual.RemoveAt(known.Row);
            }

            Canon.AssertSameRows(expected, actual, $"{judge}: {name}");
            judged++;
        }

        Assert.True(judged > 0, $"no judge reads {name}");
    }

    [Theory]
    [InlineData("delta_binary_packed.parquet")]
    [InlineData("delta_byte_array.parquet")]
    [InlineData("delta_encoding_optional_column.parquet")]
    [InlineData("delta_encoding_required_column.parquet")]
    public async Task ParquetTestingFile_MatchesItsExpectCsv(string name)
    {
        var path = Path.Combine(TestData.ParquetTesting, name);
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
        foreach (var f in Directory.GetFiles(TestData.Existing(dir), pattern).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(f));
        }

        return data;
    }
}
