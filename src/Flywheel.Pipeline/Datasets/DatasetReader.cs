using System.Runtime.CompilerServices;

namespace Flywheel.Pipeline.Datasets;

/// <summary>
/// A dataset file's records, streamed: rows are read, checked and handed over one at a time, never the whole file.
/// Each enumeration reads the file again from the start and resets the counts.
/// </summary>
public sealed class DatasetReader<T> : IAsyncEnumerable<T>
{
    private readonly DatasetReadOptions _options;
    private readonly IReadOnlyCollection<string> _columns;
    private readonly Func<IRowParser<T>> _newParser;
    private readonly CancellationToken _cancellationToken;
    // Interlocked: progress reporting may read the counts from another thread while a read runs.
    private long _rowsRead;
    private long _rowsRejected;

    internal DatasetReader(string path, DatasetReadOptions options, IReadOnlyCollection<string> columns, Func<IRowParser<T>> newParser, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);

        // Fail where the reader is made rather than at the first row, which may be far away in a pipeline.
        if (!File.Exists(path))
        {
            throw new DatasetFormatException(path, null, "dataset file not found");
        }

        Path = path;
        _options = options;
        _columns = columns;
        _newParser = newParser;
        _cancellationToken = cancellationToken;
    }

    public string Path { get; }

    /// <summary>Rows read from the file so far (blank JSONL lines aside), good or bad.</summary>
    public long RowsRead => Interlocked.Read(ref _rowsRead);

    /// <summary>Bad rows set aside so far (with <see cref="DatasetReadOptions.SkipBad"/>).</summary>
    public long RowsRejected => Interlocked.Read(ref _rowsRejected);

    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        ReadAsync(_cancellationToken).GetAsyncEnumerator(cancellationToken);

    private async IAsyncEnumerable<T> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _rowsRead, 0);
        Interlocked.Exchange(ref _rowsRejected, 0);
        var parser = _newParser();
        await using var rejects = _options.SkipBad ? RejectsWriter.Open(_options.RejectsPath) : null;
        await foreach (var row in SourceRows.ReadAsync(Path, _columns, cancellationToken))
        {
            // Buffered reads (StreamReader's, a Parquet row group's) do not look at the token: stop here, between rows.
            cancellationToken.ThrowIfCancellationRequested();
            Interlocked.Increment(ref _rowsRead);
            T record;
            try
            {
                record = parser.Parse(row.Parse(), row.At);
            }
            catch (DatasetFormatException e) when (_options.SkipBad)
            {
                Interlocked.Increment(ref _rowsRejected);
                if (rejects is not null)
                {
                    await rejects.WriteAsync(row, e, cancellationToken);
                }

                continue;
            }

            yield return record;
        }
    }
}
