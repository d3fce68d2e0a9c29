namespace Flywheel.Pipeline.Datasets;

/// <summary>Reads prompts from JSONL, gzipped JSONL or Parquet files (see <see cref="PromptFormat"/> for the row layouts).</summary>
public static class PromptDatasets
{
    /// <summary>
    /// The prompts in <paramref name="path"/>, streamed. A row without an <c>id</c> gets "stem-N" (the file name without
    /// extensions, and its line or row number); a repeated id is a bad row. A missing file raises
    /// <see cref="FileNotFoundException"/> here; a bad row, when enumerated, <see cref="DatasetFormatException"/> (or,
    /// with <see cref="DatasetReadOptions.SkipBad"/>, is set aside).
    /// </summary>
    public static DatasetReader<PromptRecord> ReadAsync(string path, DatasetReadOptions? options = null, CancellationToken cancellationToken = default)
    {
        var o = options ?? new DatasetReadOptions();
        return new(path, o, PromptRowParser.Columns, () => new PromptRowParser(o.PromptFormat, o.SystemPrompt, PromptRowParser.StemOf(path), o.PromptCheck), cancellationToken);
    }
}
