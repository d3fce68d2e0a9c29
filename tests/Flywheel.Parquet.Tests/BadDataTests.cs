
namespace Flywheel.Parquet.Tests;

/// <summary>Malformed input fails with <see cref="ParquetFormatException"/> naming where: never a crash, hang or huge allocation.</summary>
public sealed class BadDataTests
{
    /// <summary>bad_data files that are in fact valid, as the independent readers agree.</summary>
    private static readonly Dictionary<string, string> ValidAfterAll = new()
    {
        ["ARROW-GH-43605.parquet"] = "dictionary indices at bit width 0 are all 0, which is valid: DuckDB and arrow-rs read it too (the Arrow bug was a crash)",
    };

    public static TheoryData<string> BadFiles()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(TestData.Existing(TestData.BadData), "*.parquet").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(f));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public async Task BadDataFile_IsRejected_WithColumnAndOffset(string name)
    {
        if (ValidAfterAll.ContainsKey(name))
        {
            await using var reader = await ParquetReader.OpenAsync(Path.Combine(TestData.BadData, name));
            Assert.Equal(reader.RowCount, await reader.ReadRowsAsync().CountAsync());
            return;
        }

        var e = await Assert.ThrowsAsync<ParquetFormatException>(() => ReadAll(File.ReadAllBytes(Path.Combine(TestData.BadData, name))));
        Assert.True(e.Offset >= 0, $"{name}: no offset in '{e.Message}'");
        Assert.Contains("byte offset", e.Message, StringComparison.Ordinal);
        if (e.ColumnPath is not null)
        {
            Assert.Contains($"column '{e.ColumnPath}'", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task CorruptChecksum_IsRejected()
    {
        var path = Path.Combine(TestData.ParquetTesting, "datapage_v1-corrupt-checksum.parquet");
        var e = await Assert.ThrowsAsync<ParquetFormatException>(() => ReadAll(File.ReadAllBytes(path)));
        Assert.Contains("checksum", e.Message, StringComparison.Ordinal);
        Assert.NotNull(e.ColumnPath);
    }

    /// <summary>
    /// Seeded fuzzing: truncations and byte flips of real files (ours and the corpora's). Each case must read
    /// cleanly or fail with <see cref="ParquetFormatException"/>; a case that has not ended after a minute counts as a
    /// hang (a bound against endless loops, not a speed test).
    /// </summary>
    [Fact]
    public async Task TruncatedAndFlippedFiles_FailCleanly()
    {
        var originals = await Originals();
        var rng = new Random(20240611);
        int cases = 0, rejected = 0;
        foreach (var (name, bytes) in originals)
        {
            for (int k = 0; k < 3000 / originals.Count; k++, cases++)
            {
                var mutated = (byte[])bytes.Clone();
                string what;
                if (k % 2 == 0)
                {
                    int length = rng.Next(mutated.Length);
                    mutated = mutated[..length];
                    what = $"truncated to {length}";
                }
                else
                {
                    int flips = 1 + rng.Next(4);
                    var positions = new List<int>();
                    for (int f = 0; f < flips; f++)
                    {
                        // Flips land mostly near the end, where the footer and the last pages are.
                        int pos = rng.Next(3) == 0 ? rng.Next(mutated.Length) : Math.Max(0, mutated.Length - 1 - rng.Next(Math.Min(mutated.Length, 600)));
                        mutated[pos] ^= (byte)(1 + rng.Next(255));
                        positions.Add(pos);
                    }

                    what = "flipped at " + string.Join(",", positions);
                }

                try
                {
                    await ReadAll(mutated).WaitAsync(TimeSpan.FromMinutes(1));
                }
                catch (TimeoutException)
                {
                    Assert.Fail($"{name} {what}: the read did not end (a loop on corrupt data?)");
                }
                catch (ParquetFormatException e)
                {
                    rejected++;
                    Assert.True(e.Offset >= 0 || e.ColumnPath is not null, $"{name} {what}: {e.Message}");
                }
                catch (Exception e)
                {
                    Assert.Fail($"{name} {what}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
                }

            }
        }

        Assert.True(cases >= 2900, $"only {cases} cases");
        Assert.True(rejected > cases / 3, $"only {rejected} of {cases} rejected: the mutations are not reaching the reader");
    }

    private static async Task ReadAll(byte[] bytes)
    {
        await using var reader = await ParquetReader.OpenAsync(new MemoryStream(bytes));
        await foreach (var row in reader.ReadRowsAsync())
        {
            ParquetJson.ToJson(row);
        }
    }

    private static async Task<List<(string, byte[])>> Originals()
    {
        var list = new List<(string, byte[])>();
        foreach (var (codec, dictionary) in new[] { (ParquetCompression.Zstd, true), (ParquetCompression.Snappy, false), (ParquetCompression.Gzip, true) })
        {
            var rng = new Random(5);
            using var stream = new MemoryStream();
            var options = new ParquetSerializerOptions { Writer = new ParquetWriterOptions { Compression = codec, UseDictionary = dictionary, RowGroupSize = 4096 } };
            await ParquetSerializer.SerializeAsync(Enumerable.Range(0, 60).Select(i => Generate.All(rng, i)).ToAsyncEnumerable(), stream, options);
            list.Add(($"ours-{codec}", stream.ToArray()));
        }

        foreach (var file in new[]
        {
            Path.Combine(TestData.Fixtures, "chat_zstd_v1.parquet"),
            Path.Combine(TestData.Fixtures, "chat_snappy_v2.parquet"),
            Path.Combine(TestData.ParquetTesting, "alltypes_plain.parquet"),
            Path.Combine(TestData.ParquetTesting, "nested_lists.snappy.parquet"),
            Path.Combine(TestData.ParquetTesting, "delta_byte_array.parquet"),
            Path.Combine(TestData.ParquetTesting, "datapage_v2.snappy.parquet"),
        })
        {
            if (File.Exists(file))
            {
                list.Add((Path.GetFileName(file), File.ReadAllBytes(file)));
            }
        }

        return list;
    }
}
