namespace Flywheel.Pipeline.Datasets;

/// <summary>
/// A dataset row (or the whole file) is not what its format requires. The one-line message names the file and line
/// (<c>pairs.jsonl:17</c>) or row (<c>pairs.parquet:row 17</c>), and the field at fault:
/// <c>pairs.jsonl:17: field 'chosen' is empty</c>.
/// </summary>
public sealed class DatasetFormatException : InputException
{
    public DatasetFormatException()
    {
    }

    public DatasetFormatException(string message)
        : base(message)
    {
    }

    public DatasetFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal DatasetFormatException(string location, string? field, string reason, Exception? innerException = null)
        : base($"{location}: {reason}", innerException)
    {
        Location = location;
        Field = field;
        Reason = reason;
    }

    /// <summary>"file:line", "file:row N", or the file name where the fault is the file's own (a corrupt Parquet file).</summary>
    public string? Location { get; }

    /// <summary>The field (or Parquet column path) at fault; null where the row is not JSON, or the fault is not one field's.</summary>
    public string? Field { get; }

    /// <summary>The message without its location.</summary>
    public string? Reason { get; }

    internal static DatasetFormatException BadField(RowLocation at, string field, string problem) =>
        new(at.ToString(), field, $"field '{field}' {problem}");
}
