using Flywheel.Files;
using Flywheel.Parquet.Compression;
using Flywheel.Parquet.IO;
using Flywheel.Parquet.Serialization;
using Flywheel.Parquet.Thrift;

namespace Flywheel.Parquet;

/// <summary>How to write a Parquet file.</summary>
public sealed class ParquetWriterOptions
{
    /// <summary>The page codec: Zstd (default), Snappy, Gzip or Uncompressed.</summary>
    public ParquetCompression Compression { get; init; } = ParquetCompression.Zstd;

    /// <summary>The codec's level (zstd 1–22, default 3; gzip: up to 3 is fastest, above is optimal).</summary>
    public int CompressionLevel { get; init; } = 3;

    /// <summary>Dictionary-encode columns while their distinct values stay under <see cref="DictionaryLimit"/>.</summary>
    public bool UseDictionary { get; init; } = true;

    /// <summary>Bytes of distinct values beyond which a column chunk falls back to PLAIN.</summary>
    public int DictionaryLimit { get; init; } = 1 << 20;

    /// <summary>Buffered (uncompressed) bytes at which a row group is cut; memory use is about one row group (two with <see cref="OverlapRowGroups"/>).</summary>
    public long RowGroupSize { get; init; } = 64L << 20;

    /// <summary>
    /// Encode and write each full row group in the background while the next one fills: faster wherever a core is
    /// free, at the cost of buffering two row groups instead of one.
    /// </summary>
    public bool OverlapRowGroups { get; init; } = true;

    /// <summary>Bytes of values per data page.</summary>
    public int PageSize { get; init; } = 1 << 20;

    /// <summary>Key-value metadata stored in the footer.</summary>
    public IReadOnlyDictionary<string, string>? KeyValueMetadata { get; init; }
}

/// <summary>
/// Writes a Parquet file row group by row group (data page v1, PLAIN or dictionary encoding, statistics). A file
/// written by path appears complete or not at all: it is written under a temporary name and renamed by
/// <see cref="CompleteAsync"/> once synced to disk; a failure, or disposing without completing, deletes it.
/// </summary>
public sealed class ParquetWriter : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly PendingFile? _file;
    private readonly ParquetWriterOptions _options;
    private readonly ColumnBuffer[] _columns;

    private readonly ChunkSettings _settings;

    // The row group being encoded and written in the background while _columns takes the next one's rows; made at
    // the first row group's end, so a file of one row group never needs it.
    private ColumnBuffer[]? _sealed;
    private Task _writing = Task.CompletedTask;
    private readonly List<RowGroup> _rowGroups = [];
    private readonly RowShredder<IReadOnlyDictionary<string, object?>> _dynamic;
    private long _position;
    private long _rowsInGroup;
    private bool _completed;

    private ParquetWriter(Stream stream, bool ownsStream, PendingFile? file, ParquetSchema schema, ParquetWriterOptions? options)
    {
        _options = options ?? new ParquetWriterOptions();
        if (!Codecs.CanWrite(_options.Compression))
        {
            throw new ArgumentException($"Writing {_options.Compression} is not supported.", nameof(options));
        }

        _stream = stream;
        _ownsStream = ownsStream;
        _file = file;
        Schema = schema;
        _settings = new ChunkSettings(_options.Compression, _options.CompressionLevel, _options.UseDictionary, _options.DictionaryLimit, _options.PageSize);
        _columns = [.. schema.Columns.Select(leaf => CreateBuffer(leaf, _settings))];
        _dynamic = RowShredder<IReadOnlyDictionary<string, object?>>.ForDictionaries(this);
        _stream.Write("PAR1"u8);
        _position = 4;
    }

    public ParquetSchema Schema { get; }

    /// <summary>Creates <paramref name="path"/> (atomically, on <see cref="CompleteAsync"/>).</summary>
    public static ParquetWriter Create(string path, ParquetSchema schema, ParquetWriterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(schema);
        var file = PendingFile.Create(path, asynchronous: true);
        try
        {
            return new ParquetWriter(file.Stream, false, file, schema, options);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Writes to a stream (which is not closed unless <paramref name="leaveOpen"/> is false).</summary>
    public static ParquetWriter Create(Stream stream, ParquetSchema schema, ParquetWriterOptions? options = null, bool leaveOpen = true)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(schema);
        return new ParquetWriter(stream, !leaveOpen, null, schema, options);
    }

    /// <summary>
    /// Writes one row given as field names to values (nested structs as dictionaries, lists as enumerables);
    /// a value that does not fit its column raises <see cref="ArgumentException"/> naming the column.
    /// </summary>
    public ValueTask WriteRowAsync(IReadOnlyDictionary<string, object?> row, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(row);
        return WriteRowAsync(_dynamic, row, cancellationToken);
    }

    /// <summary>
    /// Ends the current row group here (it is also cut when <see cref="ParquetWriterOptions.RowGroupSize"/> is reached).
    /// With <see cref="ParquetWriterOptions.OverlapRowGroups"/> it is encoded and written in the background while the
    /// next one's rows are taken, so a failure to write it surfaces at the next row group's end or at <see cref="CompleteAsync"/>.
    /// </summary>
    public Task FlushRowGroupAsync(CancellationToken cancellationToken = default) => EndRowGroupAsync(_options.OverlapRowGroups, cancellationToken);

    /// <summary>
    /// Writes the last row group and the footer, and moves the file into place (synced to disk first). If this fails,
    /// the writer is finished and a file written by path leaves nothing behind.
    /// </summary>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        try
        {
            await FinishAsync(cancellationToken);
        }
        catch
        {
            // No row group is being written by now: FinishAsync waited for the last one.
            await AbandonAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        // A row group still being written uses the stream and its buffers; its failure, if any, is not this call's.
        await _writing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var c in _columns.Concat(_sealed ?? []).OfType<IDisposable>())
        {
            c.Dispose();
        }

        if (!_completed)
        {
            await AbandonAsync();
        }
    }

    internal ColumnBuffer Column(int index) => _columns[index];

    private async Task FinishAsync(CancellationToken cancellationToken)
    {
        // The last row group: nothing is left to overlap its encoding with.
        await EndRowGroupAsync(overlap: false, cancellationToken);
        var metadata = new FileMetaData
        {
            Version = 1,
            Schema = Schema.ToElements(),
            NumRows = _rowGroups.Sum(g => g.NumRows),
            RowGroups = _rowGroups,
            KeyValueMetadata = [.. (_options.KeyValueMetadata ?? new Dictionary<string, string>()).Select(kv => new KeyValue { Key = kv.Key, Value = kv.Value })],
            CreatedBy = "Flywheel.Parquet version 1.0.0",
        };
        using var footer = new ByteBuffer(4096);
        metadata.Write(new CompactWriter(footer));
        int length = footer.Length;
        footer.WriteInt32(length);
        footer.Write("PAR1"u8);
        await _stream.WriteAsync(footer.Memory, cancellationToken);
        await _stream.FlushAsync(cancellationToken);
        if (_file is not null)
        {
            await _file.CommitAsync(cancellationToken);
        }
        else if (_ownsStream)
        {
            await _stream.DisposeAsync();
        }

        _completed = true;
    }

    /// <summary>Finishes the writer without a file: closes the stream it owns, or discards the file it was writing.</summary>
    private async ValueTask AbandonAsync()
    {
        _completed = true;
        if (_file is not null)
        {
            await _file.DisposeAsync();
        }
        else if (_ownsStream)
        {
            await _stream.DisposeAsync();
        }
    }

    private async Task EndRowGroupAsync(bool overlap, CancellationToken cancellationToken)
    {
        await _writing;
        if (_rowsInGroup == 0)
        {
            return;
        }

        long rows = _rowsInGroup;
        _rowsInGroup = 0;
        if (!overlap)
        {
            await WriteRowGroupAsync(_columns, rows, cancellationToken);
            return;
        }

        var sealedColumns = _sealed ??= [.. Schema.Columns.Select(leaf => CreateBuffer(leaf, _settings))];
        for (int i = 0; i < _columns.Length; i++)
        {
            _columns[i].SwapInto(sealedColumns[i]);
        }

        _writing = Task.Run(() => WriteRowGroupAsync(sealedColumns, rows, cancellationToken), cancellationToken);
    }

    private async Task WriteRowGroupAsync(ColumnBuffer[] columns, long rows, CancellationToken cancellationToken)
    {
        var chunks = new EncodedChunk[columns.Length];
        Parallel.For(0, columns.Length, new ParallelOptions { CancellationToken = cancellationToken }, i => chunks[i] = columns[i].Encode());
        var group = new RowGroup { NumRows = rows, FileOffset = _position };
        long compressed = 0;
        for (int i = 0; i < chunks.Length; i++)
        {
            var (bytes, meta, hasDictionary) = chunks[i];
            meta.DataPageOffset += _position;
            meta.DictionaryPageOffset = hasDictionary ? _position : null;
            await _stream.WriteAsync(bytes.Memory, cancellationToken);
            _position += bytes.Length;
            compressed += bytes.Length;
            group.TotalByteSize += meta.TotalUncompressedSize;
            group.Columns.Add(new ColumnChunk { MetaData = meta });
            bytes.Dispose();
            columns[i].Reset();
        }

        group.TotalCompressedSize = compressed;
        _rowGroups.Add(group);
    }

    /// <summary>
    /// Shreds a row whole or not at all, then cuts the row group once enough is buffered. A row that fails half-way
    /// (a value that does not fit, a null where required) is taken back out of the columns it reached, so a caller
    /// that catches the failure and goes on writing gets exactly its good rows.
    /// </summary>
    internal ValueTask WriteRowAsync<T>(RowShredder<T> shredder, T row, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        foreach (var c in _columns)
        {
            c.BeginRow();
        }

        try
        {
            shredder.Write(row);
        }
        catch
        {
            foreach (var c in _columns)
            {
                c.RollBackRow();
            }

            throw;
        }

        _rowsInGroup++;
        if ((_rowsInGroup & 255) == 0 && _columns.Sum(c => c.BufferedBytes) >= _options.RowGroupSize)
        {
            return new ValueTask(FlushRowGroupAsync(cancellationToken));
        }

        return ValueTask.CompletedTask;
    }

    private static ColumnBuffer CreateBuffer(ParquetField leaf, ChunkSettings settings) => leaf.PhysicalType switch
    {
        PhysicalType.Boolean => new BooleanColumnBuffer(leaf, settings),
        PhysicalType.Int32 => new NumberColumnBuffer<int>(leaf, settings),
        PhysicalType.Int64 => new NumberColumnBuffer<long>(leaf, settings),
        PhysicalType.Float => new NumberColumnBuffer<float>(leaf, settings),
        PhysicalType.Double => new NumberColumnBuffer<double>(leaf, settings),
        PhysicalType.ByteArray => new ByteArrayColumnBuffer(leaf, settings),
        _ => throw new NotSupportedException($"Writing {leaf.PhysicalType} columns ('{leaf.Path}') is not supported."),
    };
}
