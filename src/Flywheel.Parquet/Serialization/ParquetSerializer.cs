using System.Runtime.CompilerServices;
using Flywheel.Parquet.Serialization;

namespace Flywheel.Parquet;

/// <summary>Options of the typed record API.</summary>
public sealed class ParquetSerializerOptions
{
    /// <summary>How property names become column names (a <see cref="ParquetColumnAttribute"/> wins over this).</summary>
    public ColumnNaming ColumnNaming { get; init; }

    /// <summary>The schema to write, declared explicitly; null derives it from the record type.</summary>
    public ParquetSchema? Schema { get; init; }

    public ParquetWriterOptions Writer { get; init; } = new();

    /// <summary>Which columns and how many rows to read.</summary>
    public ParquetReadOptions? Read { get; init; }
}

/// <summary>Writes typed records one at a time into a Parquet file (see <see cref="ParquetSerializer.CreateWriter{T}(string, ParquetSerializerOptions?)"/>).</summary>
public sealed class ParquetRecordWriter<T> : IAsyncDisposable
{
    private readonly ParquetWriter _writer;
    private readonly RowShredder<T> _shredder;

    internal ParquetRecordWriter(ParquetWriter writer, ColumnNaming naming)
    {
        _writer = writer;
        _shredder = Binder.Bind<T>(writer, naming);
    }

    public ParquetSchema Schema => _writer.Schema;

    /// <summary>Adds a record; a null where its column is required raises <see cref="ArgumentException"/> naming the column.</summary>
    public ValueTask WriteAsync(T record, CancellationToken cancellationToken = default)
    {
        return _writer.WriteRowAsync(_shredder, record, cancellationToken);
    }

    /// <summary>Ends the current row group here.</summary>
    public Task FlushRowGroupAsync(CancellationToken cancellationToken = default) => _writer.FlushRowGroupAsync(cancellationToken);

    /// <summary>Writes the footer and moves the file into place.</summary>
    public Task CompleteAsync(CancellationToken cancellationToken = default) => _writer.CompleteAsync(cancellationToken);

    public ValueTask DisposeAsync() => _writer.DisposeAsync();
}

/// <summary>
/// The one-call typed API: records in, Parquet out, and back. The schema is derived from the record type (string,
/// bool, int, long, float, double, byte[] and their nullable forms; nested classes as structs; arrays, List and
/// IReadOnlyList as lists; nullable reference annotations decide optional or required) unless declared in the options.
/// </summary>
public static class ParquetSerializer
{
    /// <summary>The schema <typeparamref name="T"/> maps to.</summary>
    public static ParquetSchema SchemaOf<T>(ColumnNaming naming = ColumnNaming.AsDeclared) => TypeSchema.Derive(typeof(T), naming);

    public static ParquetRecordWriter<T> CreateWriter<T>(string path, ParquetSerializerOptions? options = null)
    {
        options ??= new();
        return new ParquetRecordWriter<T>(ParquetWriter.Create(path, options.Schema ?? SchemaOf<T>(options.ColumnNaming), options.Writer), options.ColumnNaming);
    }

    public static ParquetRecordWriter<T> CreateWriter<T>(Stream stream, ParquetSerializerOptions? options = null)
    {
        options ??= new();
        return new ParquetRecordWriter<T>(ParquetWriter.Create(stream, options.Schema ?? SchemaOf<T>(options.ColumnNaming), options.Writer), options.ColumnNaming);
    }

    /// <summary>Writes all <paramref name="records"/> to <paramref name="path"/>, which appears only once complete.</summary>
    public static async Task SerializeAsync<T>(IAsyncEnumerable<T> records, string path, ParquetSerializerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        await using var writer = CreateWriter<T>(path, options);
        await WriteAllAsync(writer, records, cancellationToken);
    }

    public static async Task SerializeAsync<T>(IAsyncEnumerable<T> records, Stream stream, ParquetSerializerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        await using var writer = CreateWriter<T>(stream, options);
        await WriteAllAsync(writer, records, cancellationToken);
    }

    public static Task SerializeAsync<T>(IEnumerable<T> records, string path, ParquetSerializerOptions? options = null, CancellationToken cancellationToken = default) =>
        SerializeAsync(records.ToAsyncEnumerable(), path, options, cancellationToken);

    /// <summary>Reads the file's rows as <typeparamref name="T"/>, row group by row group.</summary>
    public static async IAsyncEnumerable<T> DeserializeAsync<T>(string path, ParquetSerializerOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var reader = await ParquetReader.OpenAsync(path, cancellationToken);
        await foreach (var record in DeserializeAsync<T>(reader, options, cancellationToken))
        {
            yield return record;
        }
    }

    public static async IAsyncEnumerable<T> DeserializeAsync<T>(ParquetReader reader, ParquetSerializerOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var materializer = new Materializer(options?.ColumnNaming ?? ColumnNaming.AsDeclared);
        await foreach (var row in reader.ReadRowsAsync(options?.Read, cancellationToken))
        {
            yield return materializer.Create<T>(row);
        }
    }

    private static async Task WriteAllAsync<T>(ParquetRecordWriter<T> writer, IAsyncEnumerable<T> records, CancellationToken cancellationToken)
    {
        await foreach (var record in records.WithCancellation(cancellationToken))
        {
            await writer.WriteAsync(record, cancellationToken);
        }

        await writer.CompleteAsync(cancellationToken);
    }
}
