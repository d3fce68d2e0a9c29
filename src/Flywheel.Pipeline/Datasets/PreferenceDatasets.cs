namespace Flywheel.Pipeline.Datasets;

/// <summary>Reads preference pairs from JSONL, gzipped JSONL or Parquet files (see <see cref="PairFormat"/> for the row layouts).</summary>
public static class PreferenceDatasets
{
    /// <summary>
    /// The pairs in <paramref name="path"/>, streamed; <see cref="PreferencePair.Source"/> is "file:line" or "file:row N".
    /// A missing file raises <see cref="FileNotFoundException"/> here; a bad row, when enumerated, <see cref="DatasetFormatException"/>
    /// (or, with <see cref="DatasetReadOptions.SkipBad"/>, is set aside).
    /// </summary>
    public static DatasetReader<PreferencePair> ReadAsync(string path, DatasetReadOptions? options = null, CancellationToken cancellationToken = default)
    {
        var o = options ?? new DatasetReadOptions();
        return new(path, o, PairRowParser.Columns, () => new PairRowParser(o.PairFormat), cancellationToken);
    }
}
