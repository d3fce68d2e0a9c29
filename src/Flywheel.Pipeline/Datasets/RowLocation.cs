namespace Flywheel.Pipeline.Datasets;

/// <summary>Where a row sits: a JSONL line number or a Parquet row number, both counted from 1.</summary>
internal readonly record struct RowLocation(string FileName, long Number, bool IsParquetRow)
{
    public override string ToString() => IsParquetRow ? $"{FileName}:row {Number}" : $"{FileName}:{Number}";
}
