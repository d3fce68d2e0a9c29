using Flywheel.Parquet;
using Flywheel.Pipeline.Runs;

namespace Flywheel.Pipeline.Stages;

/// <summary>
/// A round's part files (parts/part-NNNNN.parquet): what the sampling pass wrote so far, P prompts each in prompt
/// order, read by select and write; removed when the round's final files are recorded, rebuilt from
/// candidates.parquet when a finished round's select or write is redone.
/// </summary>
internal static class PartFiles
{
    public static List<string> List(RoundContext ctx) => System.IO.Directory.Exists(ctx.PartsDirectory)
        ? System.IO.Directory.GetFiles(ctx.PartsDirectory, "part-*.parquet").Order(StringComparer.Ordinal).ToList()
        : [];

    /// <summary>How many prompts, from the start of the prompts file, the part files already hold.</summary>
    public static async Task<int> DonePromptCountAsync(RoundContext ctx, CancellationToken ct)
    {
        int done = 0;
        var read = new ParquetReadOptions { Columns = ["prompt_index"] };
        foreach (var part in List(ctx))
        {
            var indexes = new SortedSet<int>();
            await using var reader = await ParquetReader.OpenAsync(part, ct);
            await foreach (var row in reader.ReadRowsAsync(read, ct)) indexes.Add((int)row["prompt_index"]!);
            if (indexes.Min != done || indexes.Max != done + indexes.Count - 1)
                throw new InvalidDataException($"{part}: holds prompts {indexes.Min}–{indexes.Max}, expected a range starting at {done}");
            done += indexes.Count;
        }
        return done;
    }

    /// <summary>Every prompt's candidates from the part files, one prompt at a time in prompt order (memory: one part).</summary>
    public static async IAsyncEnumerable<IReadOnlyList<CandidateRow>> ReadPromptsAsync(RoundContext ctx, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        foreach (var part in List(ctx))
        {
            var rows = new List<CandidateRow>();
            await foreach (var row in ParquetSerializer.DeserializeAsync<CandidateRow>(part, RowFiles.Options(), ct)) rows.Add(row);
            foreach (var prompt in rows.GroupBy(r => r.PromptIndex).OrderBy(g => g.Key)) yield return prompt.OrderBy(r => r.Candidate).ToList();
        }
    }

    /// <summary>
    /// A finished round's part files are gone (see <see cref="RemoveParts"/>): redoing its select or write rebuilds them
    /// from candidates.parquet, which holds every scored candidate in prompt order, one part at a time. They are written
    /// to a folder beside and renamed into place, so a crash leaves either no parts or all of them.
    /// </summary>
    public static async Task RestoreAsync(RoundContext ctx, CancellationToken ct)
    {
        if (System.IO.Directory.Exists(ctx.PartsDirectory)) return;
        if (!File.Exists(ctx.CandidatesPath))
            throw new FileNotFoundException($"round {ctx.Round}: neither the part files nor candidates.parquet are there to select from; redo the round from sample", ctx.CandidatesPath);
        string temp = ctx.PartsDirectory + ".rebuilding";
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true); // what a killed rebuild left
        Directory.CreateDirectory(temp);
        int part = 0, prompts = 0;
        int? current = null;
        var rows = new List<CandidateRow>();
        async Task WritePartAsync()
        {
            await ParquetSerializer.SerializeAsync(rows, Path.Combine(temp, $"part-{part++:00000}.parquet"), RowFiles.Options(), ct);
            rows.Clear();
            prompts = 0;
        }
        await foreach (var row in ParquetSerializer.DeserializeAsync<CandidateRow>(ctx.CandidatesPath, RowFiles.Options(), ct))
        {
            if (row.PromptIndex != current)
            {
                if (prompts == ctx.Config.Sampling.PartSize) await WritePartAsync();
                current = row.PromptIndex;
                prompts++;
            }
            rows.Add(row);
        }
        if (rows.Count > 0) await WritePartAsync();
        Directory.Move(temp, ctx.PartsDirectory);
        ctx.Log($"round {ctx.Round}: part files rebuilt from candidates.parquet ({part} parts)");
    }

    /// <summary>Removes the part files once run.json records the final files as written (not before: a crash in between must be able to write them again).</summary>
    public static void Remove(RoundContext ctx)
    {
        if (ctx.Store.StageState(ctx.Round, Stage.Write) == StageState.Done && Directory.Exists(ctx.PartsDirectory))
            Directory.Delete(ctx.PartsDirectory, recursive: true);
    }
}
