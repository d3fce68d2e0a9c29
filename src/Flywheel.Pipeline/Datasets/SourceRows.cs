using System.Collections;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;
using Flywheel.Parquet;
using Flywheel.Pipeline.Config;

namespace Flywheel.Pipeline.Datasets;

/// <summary>One row as it came from the file, parsed to JSON only when asked, so that a bad row can still be set aside verbatim.</summary>
internal abstract record SourceRow(RowLocation At)
{
    /// <summary>The row as a JSON object; a row that is not one raises <see cref="DatasetFormatException"/>.</summary>
    public abstract JsonObject Parse();

    /// <summary>Adds the original row to a rejects entry.</summary>
    public abstract void AddOriginal(JsonObject reject);
}

/// <summary>A non-blank JSONL line.</summary>
internal sealed record JsonLineRow(RowLocation At, string Text) : SourceRow(At)
{
    // Duplicate keys would otherwise let the last one win silently (or fail later, outside the row's error handling).
    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false };

    /// <summary>
    /// What the reader's decoder puts where a line's bytes are not UTF-8: a noncharacter no text holds, unlike U+FFFD,
    /// which a valid file may contain, so the row can be refused (or set aside) naming its line.
    /// </summary>
    internal const char InvalidUtf8 = '\uFFFF';

    public override JsonObject Parse()
    {
        int bad = Text.IndexOf(InvalidUtf8, StringComparison.Ordinal);
        if (bad >= 0) throw new DatasetFormatException(At.ToString(), null, $"the line is not valid UTF-8 text (at character {bad + 1})");
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(Text, documentOptions: Strict);
        }
        catch (JsonException e)
        {
            throw new DatasetFormatException(At.ToString(), null, 
                $"malformed JSON: {JsonErrorText.Reason(e)}{(e.BytePositionInLine is long at ? $" (at byte {at + 1})" : "")}");
        }

        return node as JsonObject
            ?? throw new DatasetFormatException(At.ToString(), null, $"the line is {RowFields.KindOf(node)}, not a JSON object");
    }

    public override void AddOriginal(JsonObject reject) => reject["line"] = Text.Replace(InvalidUtf8, '\uFFFD');
}

/// <summary>A Parquet row, read through the projection of the columns the formats use.</summary>
internal sealed record ParquetSourceRow(RowLocation At, ParquetRow Row) : SourceRow(At)
{
    public override JsonObject Parse() => (JsonObject)ToNode(Row, "")!;

    public override void AddOriginal(JsonObject reject) => reject["row"] = ParquetJson.ToJson(Row);

    private JsonNode? ToNode(object? value, string path) => value switch
    {
        // Unannotated BYTE_ARRAY columns are how some writers (older Spark, Hive) store strings.
        byte[] bytes => Utf8.IsValid(bytes)
            ? JsonValue.Create(Encoding.UTF8.GetString(bytes))
            : throw DatasetFormatException.BadField(At, path, "holds binary data that is not UTF-8 text"),
        IReadOnlyDictionary<string, object?> row => new JsonObject(row.Select(f => KeyValuePair.Create(f.Key, ToNode(f.Value, path.Length == 0 ? f.Key : $"{path}.{f.Key}")))),
        IList list => new JsonArray([.. list.Cast<object?>().Select((v, i) => ToNode(v, $"{path}[{i}]"))]),
        _ => ParquetJson.ToNode(value),
    };
}

/// <summary>Opens a dataset file, tells JSONL, gzipped JSONL and Parquet apart by their first bytes, and streams its rows.</summary>
internal static class SourceRows
{
    private static readonly Encoding Utf8Marking = MarkingUtf8();

    private static Encoding MarkingUtf8()
    {
        var encoding = (Encoding)new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).Clone();
        encoding.DecoderFallback = new DecoderReplacementFallback(JsonLineRow.InvalidUtf8.ToString());
        return encoding;
    }

    /// <summary>The rows of <paramref name="path"/>; a Parquet file's <paramref name="columns"/> only (null: all).</summary>
    public static async IAsyncEnumerable<SourceRow> ReadAsync(string path, IReadOnlyCollection<string>? columns, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string fileName = Path.GetFileName(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (stream)
        {
            var head = new byte[4];
            int n = await stream.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken);
            stream.Position = 0;

            // The name counts too, so that an empty or truncated .parquet file is reported as such, not read as empty JSONL.
            if ((n == 4 && head.AsSpan().SequenceEqual("PAR1"u8)) || fileName.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase))
            {
                await foreach (var row in ReadParquetAsync(stream, fileName, columns, cancellationToken))
                {
                    yield return row;
                }

                yield break;
            }

            bool gzipped = n >= 2 && head[0] == 0x1f && head[1] == 0x8b;
            using var reader = new StreamReader(gzipped ? new GZipStream(stream, CompressionMode.Decompress) : stream, Utf8Marking, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
            for (long line = 1; ; line++)
            {
                string? content;
                try
                {
                    content = await reader.ReadLineAsync(cancellationToken);
                }
                catch (InvalidDataException e)
                {
                    throw new DatasetFormatException($"{fileName}:{line}", null, $"the gzip data is corrupt at or after this line: {e.Message}", e);
                }

                if (content is null)
                {
                    yield break;
                }

                if (!string.IsNullOrWhiteSpace(content))
                {
                    yield return new JsonLineRow(new RowLocation(fileName, line, IsParquetRow: false), content);
                }
            }
        }
    }

    private static async IAsyncEnumerable<SourceRow> ReadParquetAsync(Stream stream, string fileName, IReadOnlyCollection<string>? columns, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ParquetReader reader;
        try
        {
            reader = await ParquetReader.OpenAsync(stream, leaveOpen: true, cancellationToken);
        }
        catch (ParquetFormatException e)
        {
            throw Corrupt(fileName, e);
        }

        await using (reader)
        {
            await using var rows = reader.ReadRowsAsync(new ParquetReadOptions { Columns = columns }, cancellationToken).GetAsyncEnumerator(cancellationToken);
            for (long number = 1; ; number++)
            {
                try
                {
                    if (!await rows.MoveNextAsync())
                    {
                        yield break;
                    }
                }
                catch (ParquetFormatException e)
                {
                    throw Corrupt(fileName, e);
                }

                yield return new ParquetSourceRow(new RowLocation(fileName, number, IsParquetRow: true), rows.Current);
            }
        }
    }

    private static DatasetFormatException Corrupt(string fileName, ParquetFormatException e) =>
        new(fileName, e.ColumnPath, e.Message, e);
}
