using Flywheel.Pipeline.Datasets;

namespace Flywheel.Pipeline.Tests.Datasets;

/// <summary>Reading streams: rows are read only as they are asked for, and memory stays flat over a large file.</summary>
[Collection(MemoryMeasurements.Name)]
public class StreamingTests
{
    private const int Lines = 200_000;

    private static readonly Lazy<string> BigFile = new(() => TestFiles.WriteGzipLines("big.jsonl.gz",
        Enumerable.Range(1, Lines).Select(i => $$"""{"prompt": "What is {{i}} + {{i}}? {{new string('x', 100)}}", "chosen": "{{2 * i}}", "rejected": "{{2 * i + 1}}", "margin": 1}""")));

    [Fact]
    public async Task Taking_the_first_rows_reads_only_those_rows()
    {
        var reader = PreferenceDatasets.ReadAsync(BigFile.Value);

        int taken = 0;
        await foreach (var pair in reader)
        {
            if (++taken == 3)
            {
                break;
            }
        }

        Assert.Equal(3, reader.RowsRead);
    }

    [Fact]
    public async Task Cancelling_after_the_first_rows_stops_the_read_at_once()
    {
        using var cts = new CancellationTokenSource();
        var reader = PreferenceDatasets.ReadAsync(BigFile.Value, cancellationToken: cts.Token);

        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var pair in reader)
            {
                if (reader.RowsRead == 5)
                {
                    await cts.CancelAsync();
                }
            }
        });

        Assert.Equal(cts.Token, e.CancellationToken);
        Assert.InRange(reader.RowsRead, 5, 6); // at once: counted in rows, not in seconds
    }

    [Fact]
    public async Task The_enumerator_token_cancels_too()
    {
        using var cts = new CancellationTokenSource();
        var reader = PreferenceDatasets.ReadAsync(BigFile.Value);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var pair in reader.WithCancellation(cts.Token))
            {
                await cts.CancelAsync();
            }
        });

        Assert.InRange(reader.RowsRead, 1, 2);
    }

    [Fact]
    public async Task A_200000_line_file_reads_in_full_with_flat_memory()
    {
        var reader = PreferenceDatasets.ReadAsync(BigFile.Value);
        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = 0;
        long count = 0;
        double marginSum = 0;

        await foreach (var pair in reader)
        {
            marginSum += pair.Margin ?? 0;
            if (++count % 50_000 == 0)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true) - baseline);
            }
        }

        Assert.Equal(Lines, count);
        Assert.Equal(Lines, marginSum);
        Assert.Equal((Lines, 0), (reader.RowsRead, reader.RowsRejected));

        // The file holds some 40 MB of text and 200,000 pairs; a reader that buffered them would hold far more than this.
        Assert.True(peak < 8 << 20, $"live memory grew by {peak / 1024} KiB while reading");
    }
}

/// <summary>Tests that measure the process's memory run alone: other tests' allocations would show up in their figures.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurements
{
    public const string Name = "memory measurements";
}
