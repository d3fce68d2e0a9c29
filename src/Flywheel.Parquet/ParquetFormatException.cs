namespace Flywheel.Parquet;

/// <summary>
/// The input is not a valid Parquet file, or uses a feature this library does not read. The message names the column
/// path (where the fault lies in a column chunk) and the byte offset in the file where it was found.
/// </summary>
public sealed class ParquetFormatException : Exception
{
    public ParquetFormatException()
    {
    }

    public ParquetFormatException(string message)
        : base(message)
    {
    }

    public ParquetFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal ParquetFormatException(string reason, string? columnPath, long offset, Exception? innerException = null)
        : base(Describe(reason, columnPath, offset), innerException)
    {
        Reason = reason;
        ColumnPath = columnPath;
        Offset = offset;
    }

    /// <summary>The dotted path of the column whose data is at fault, or null for the file's footer and layout.</summary>
    public string? ColumnPath { get; }

    /// <summary>The byte offset in the file where the fault was found, or -1 where it is not known.</summary>
    public long Offset { get; } = -1;

    internal string? Reason { get; }

    /// <summary>The same fault, attributed to a column (faults are found deep in decoders that do not know it).</summary>
    internal ParquetFormatException InColumn(string columnPath) =>
        ColumnPath is null ? new ParquetFormatException(Reason ?? Message, columnPath, Offset, InnerException) : this;

    private static string Describe(string reason, string? columnPath, long offset) =>
        (columnPath is null ? "Invalid Parquet file (footer)" : $"Invalid Parquet data in column '{columnPath}'")
        + (offset >= 0 ? $" at byte offset {offset}: " : ": ") + reason;
}
