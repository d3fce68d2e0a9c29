using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Flywheel.Parquet.IO;
using Flywheel.Parquet.Thrift;

namespace Flywheel.Parquet;

/// <summary>What to read: which columns, and how many rows.</summary>
public sealed class ParquetReadOptions
{
    /// <summary>
    /// Top-level field names or dotted column paths to read (a group's name reads everything below it); null reads all.
    /// </summary>
    public IReadOnlyCollection<string>? Columns { get; init; }

    /// <summary>Stop after this many rows; null (or 0) reads them all.</summary>
    public long? MaxRows { get; init; }
}

/// <summary>A column chunk's footer metadata.</summary>
public sealed record ColumnChunkInfo(
    string Path,
    PhysicalType PhysicalType,
    ParquetCompression Compression,
    IReadOnlyList<string> Encodings,
    long ValueCount,
    long CompressedSize,
    long UncompressedSize,
    long? NullCount,
    object? Min,
    object? Max);

/// <summary>A row group's footer metadata.</summary>
public sealed record RowGroupInfo(long RowCount, long CompressedSize, long UncompressedSize, IReadOnlyList<ColumnChunkInfo> Columns);

/// <summary>
/// Reads a Parquet file: its footer (schema, row groups, key-value metadata) at open, then rows, row group by row
/// group, so that memory holds one row group's projected columns at a time. Any fault in the file raises
/// <see cref="ParquetFormatException"/>.
/// </summary>
public sealed class ParquetReader : IAsyncDisposable, IDisposable
{
    private static readonly byte[] Magic = "PAR1"u8.ToArray();
    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly FileMetaData _metadata;
    private readonly long _footerStart;

    private ParquetReader(Stream stream, bool ownsStream, FileMetaData metadata, ParquetSchema schema, long footerStart)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        _metadata = metadata;
        _footerStart = footerStart;
        Schema = schema;
        KeyValueMetadata = metadata.KeyValueMetadata.GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Last().Value);
        RowGroups = [.. metadata.RowGroups.Select(Describe)];
    }

    public ParquetSchema Schema { get; }

    public long RowCount => _metadata.NumRows;

    public IReadOnlyList<RowGroupInfo> RowGroups { get; }

    public IReadOnlyDictionary<string, string?> KeyValueMetadata { get; }

    public string? CreatedBy => _metadata.CreatedBy;

    /// <summary>Opens a file and reads its footer.</summary>
    public static async Task<ParquetReader> OpenAsync(string path, CancellationToken cancellationToken = default)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.RandomAccess);
        try
        {
            return await OpenAsync(stream, leaveOpen: false, cancellationToken);
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    /// <summary>Opens a seekable stream holding a Parquet file and reads its footer.</summary>
    public static async Task<ParquetReader> OpenAsync(Stream stream, bool leaveOpen = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek || !stream.CanRead)
        {
            throw new ArgumentException("The stream must be readable and seekable.", nameof(stream));
        }

        long length = stream.Length;
        if (length < 12)
        {
            throw new ParquetFormatException($"the file is {length} bytes, too short for a Parquet file", null, 0);
        }

        var tail = await ReadAtAsync(stream, length - 8, 8, cancellationToken);
        var head = await ReadAtAsync(stream, 0, 4, cancellationToken);
        if (tail.AsSpan(4).SequenceEqual("PARE"u8))
        {
            throw new ParquetFormatException("the file's footer is encrypted, which is not supported", null, length - 4);
        }

        if (!tail.AsSpan(4).SequenceEqual(Magic) || !head.AsSpan().SequenceEqual(Magic))
        {
            throw new ParquetFormatException("the file does not start and end with PAR1", null, length - 4);
        }

        int footerLength = BinaryPrimitives.ReadInt32LittleEndian(tail);
        if (footerLength <= 0 || footerLength > length - 12)
        {
            throw new ParquetFormatException($"footer length {footerLength} does not fit the file's {length} bytes", null, length - 8);
        }

        long footerStart = length - 8 - footerLength;
        var footer = await ReadAtAsync(stream, footerStart, footerLength, cancellationToken);
        var metadata = ParseFooter(footer, footerStart);
        var schema = ParquetSchema.FromElements(metadata.Schema, footerStart);
        Validate(metadata, schema, footerStart);
        return new ParquetReader(stream, !leaveOpen, metadata, schema, footerStart);
    }

    /// <summary>Reads rows as <see cref="ParquetRow"/>s (see there for the value types).</summary>
    public async IAsyncEnumerable<ParquetRow> ReadRowsAsync(ParquetReadOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        long limit = options?.MaxRows is > 0 and var m ? m : long.MaxValue;
        long produced = 0;
        for (int g = 0; g < _metadata.RowGroups.Count && produced < limit; g++)
        {
            var assembler = await ReadRowGroupAsync(g, options?.Columns, cancellationToken);
            long rows = _metadata.RowGroups[g].NumRows;
            for (long i = 0; i < rows && produced < limit; i++, produced++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return assembler.ReadRow();
            }
        }
    }

    /// <summary>Reads rows as JSON objects: lists as arrays, structs as objects, nulls as null (see <see cref="ParquetJson"/>).</summary>
    public async IAsyncEnumerable<JsonObject> ReadJsonAsync(ParquetReadOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var row in ReadRowsAsync(options, cancellationToken))
        {
            yield return ParquetJson.ToJson(row);
        }
    }

    public void Dispose()
    {
        if (_ownsStream)
        {
            _stream.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_ownsStream)
        {
            await _stream.DisposeAsync();
        }
    }

    /// <summary>Decodes the projected column chunks of one row group, ready to assemble its rows.</summary>
    internal async Task<RowAssembler> ReadRowGroupAsync(int index, IReadOnlyCollection<string>? columns, CancellationToken cancellationToken)
    {
        var group = _metadata.RowGroups[index];
        var data = new ColumnData?[Schema.Columns.Count];
        foreach (var leaf in Schema.Columns)
        {
            if (columns is not null && !columns.Any(c => leaf.Path == c || leaf.Path.StartsWith(c + ".", StringComparison.Ordinal)))
            {
                continue;
            }

            var meta = group.Columns[leaf.ColumnIndex].MetaData!;
            long start = ChunkStart(meta);
            var bytes = meta.NumValues == 0 ? [] : await ReadAtAsync(_stream, start, (int)meta.TotalCompressedSize, cancellationToken);
            data[leaf.ColumnIndex] = ColumnChunkReader.Read(bytes, start, leaf, meta, group.NumRows);
        }

        var assembler = RowAssembler.Create(Schema, leaf => data[leaf.ColumnIndex]);
        return assembler;
    }

    private static long ChunkStart(ColumnMetaData meta) =>

        // Some writers store a dictionary offset of 0 when there is no dictionary; the first page is the earlier valid one.
        meta.DictionaryPageOffset is { } d && d >= 4 && (d < meta.DataPageOffset || meta.DataPageOffset < 4) ? d : meta.DataPageOffset;

    private static FileMetaData ParseFooter(byte[] footer, long footerStart)
    {
        var reader = new CompactReader(footer, footerStart);
        var metadata = FileMetaData.Read(ref reader);
        if (metadata.IsEncrypted)
        {
            throw new ParquetFormatException("the file is encrypted, which is not supported", null, footerStart);
        }

        return metadata;
    }

    private static void Validate(FileMetaData metadata, ParquetSchema schema, long footerStart)
    {
        long rows = 0;
        foreach (var group in metadata.RowGroups)
        {
            if (group.NumRows < 0 || group.Columns.Count != schema.Columns.Count)
            {
                throw new ParquetFormatException($"a row group has {group.Columns.Count} column chunks for {schema.Columns.Count} columns, or a negative row count", null, footerStart);
            }

            rows += group.NumRows;
            foreach (var leaf in schema.Columns)
            {
                var chunk = group.Columns[leaf.ColumnIndex];
                var meta = chunk.MetaData;
                string reason =
                    chunk.IsEncrypted ? "the column is encrypted, which is not supported"
                    : meta is null ? "the column chunk has no metadata"
                    : chunk.FilePath is not null ? "the column chunk lives in another file"
                    : meta.Type != leaf.PhysicalType ? $"the column chunk's type {meta.Type} differs from the schema's {leaf.PhysicalType}"
                    : ChunkStart(meta) < 4 || meta.TotalCompressedSize < 0 || ChunkStart(meta) + meta.TotalCompressedSize > footerStart
                        ? $"the column chunk's bytes [{ChunkStart(meta)}, +{meta.TotalCompressedSize}) lie outside the file's data"
                    : meta.NumValues < 0 ? "the column chunk has a negative value count"
                    : meta.TotalCompressedSize > Array.MaxLength ? "column chunks over 2 GB are not supported"
                    : "";
                if (reason.Length > 0)
                {
                    throw new ParquetFormatException(reason, leaf.Path, meta is null ? footerStart : ChunkStart(meta));
                }
            }
        }


        // Some writers leave the footer's row count at 0; the row groups' own counts are what the data holds.
        metadata.NumRows = rows;
    }

    private RowGroupInfo Describe(RowGroup group) =>
        new(group.NumRows, group.TotalCompressedSize ?? group.Columns.Sum(c => c.MetaData!.TotalCompressedSize), group.TotalByteSize,
            [.. Schema.Columns.Select(leaf => DescribeChunk(leaf, group.Columns[leaf.ColumnIndex].MetaData!))]);

    private static ColumnChunkInfo DescribeChunk(ParquetField leaf, ColumnMetaData meta)
    {
        var stats = meta.Statistics;
        return new(leaf.Path, meta.Type, meta.Codec, [.. meta.Encodings.Select(e => Serialization.TypeSchema.SnakeCase(e.ToString()).ToUpperInvariant())], meta.NumValues,
            meta.TotalCompressedSize, meta.TotalUncompressedSize, stats?.NullCount,
            Statistic(leaf, stats?.MinValue ?? stats?.Min), Statistic(leaf, stats?.MaxValue ?? stats?.Max));
    }

    /// <summary>Decodes a min or max statistic (PLAIN without a length prefix) to its value; unreadable ones are left out.</summary>
    private static object? Statistic(ParquetField leaf, byte[]? bytes)
    {
        if (bytes is null)
        {
            return null;
        }

        var column = ValueConverters.Create(leaf, 0);
        var data = bytes;
        if (leaf.PhysicalType == PhysicalType.ByteArray)
        {
            data = new byte[bytes.Length + 4];
            BinaryPrimitives.WriteInt32LittleEndian(data, bytes.Length);
            bytes.CopyTo(data, 4);
        }

        try
        {
            column.AppendValues(ColumnEncoding.Plain, data, 1);
            column.Definition.Append(1)[0] = leaf.MaxDefinitionLevel;
            return column.Next();
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or OverflowException or ParquetFormatException)
        {
            // Statistics are advisory: one that does not decode is left out rather than failing the open.
            return null;
        }
    }

    private static async Task<byte[]> ReadAtAsync(Stream stream, long offset, int count, CancellationToken cancellationToken)
    {
        var buffer = new byte[count];
        stream.Seek(offset, SeekOrigin.Begin);
        await stream.ReadExactlyAsync(buffer, cancellationToken);
        return buffer;
    }
}
