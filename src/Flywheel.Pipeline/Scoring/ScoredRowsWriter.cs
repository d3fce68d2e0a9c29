using System.IO.Compression;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flywheel.Files;
using Flywheel.Parquet;
using Flywheel.Pipeline.Datasets;

namespace Flywheel.Pipeline.Scoring;

/// <summary>
/// Writes scored rows back in their input's format, each row as it came with its reward columns set (added, or
/// replacing columns of the same name). The file appears complete on <see cref="CompleteAsync"/> or not at all.
/// </summary>
internal abstract class ScoredRowsWriter : IAsyncDisposable
{
    /// <summary>A writer like the input: Parquet with its schema and the reward columns (doubles), or JSONL (gzipped where the name ends in .gz).</summary>
    public static async Task<ScoredRowsWriter> CreateAsync(string path, string inputPath, bool parquet, IReadOnlyList<string> rewardColumns, CancellationToken ct)
    {
        if (!parquet) return new JsonLines(path, rewardColumns);
        ParquetSchema schema;
        await using (var reader = await ParquetReader.OpenAsync(inputPath, ct)) schema = reader.Schema;
        return new ParquetRows(path, schema.With(rewardColumns.Select(c => ParquetField.Of(c, FieldType.Double, nullable: false))), rewardColumns);
    }

    public abstract ValueTask WriteAsync(SourceRow row, JsonObject parsed, IReadOnlyList<double> rewards, CancellationToken ct);

    public abstract Task CompleteAsync(CancellationToken ct);

    public abstract ValueTask DisposeAsync();

    private sealed class ParquetRows(string path, ParquetSchema schema, IReadOnlyList<string> rewardColumns) : ScoredRowsWriter
    {
        // Small row groups: the writer holds one in memory, and scored rows carry whole prompts and completions.
        private readonly ParquetWriter _writer = ParquetWriter.Create(path, schema, new ParquetWriterOptions { RowGroupSize = 16L << 20, OverlapRowGroups = false });

        public override ValueTask WriteAsync(SourceRow row, JsonObject parsed, IReadOnlyList<double> rewards, CancellationToken ct)
        {
            var values = new Dictionary<string, object?>(((ParquetSourceRow)row).Row, StringComparer.Ordinal);
            for (int i = 0; i < rewardColumns.Count; i++) values[rewardColumns[i]] = rewards[i];
            return _writer.WriteRowAsync(values, ct);
        }

        public override Task CompleteAsync(CancellationToken ct) => _writer.CompleteAsync(ct);

        public override ValueTask DisposeAsync() => _writer.DisposeAsync();
    }

    private sealed class JsonLines : ScoredRowsWriter
    {
        private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        private readonly PendingFile _file;
        private readonly StreamWriter _writer;
        private readonly IReadOnlyList<string> _rewardColumns;
        private bool _closed;

        public JsonLines(string path, IReadOnlyList<string> rewardColumns)
        {
            _file = PendingFile.Create(path, asynchronous: true);
            _rewardColumns = rewardColumns;
            // The writer owns the gzip stream, which leaves the file's stream to the pending file to commit.
            _writer = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
                ? new StreamWriter(new GZipStream(_file.Stream, CompressionLevel.Optimal, leaveOpen: true))
                : new StreamWriter(_file.Stream, leaveOpen: true);
        }

        public override async ValueTask WriteAsync(SourceRow row, JsonObject parsed, IReadOnlyList<double> rewards, CancellationToken ct)
        {
            for (int i = 0; i < _rewardColumns.Count; i++) parsed[_rewardColumns[i]] = rewards[i];
            await _writer.WriteLineAsync(parsed.ToJsonString(Json).AsMemory(), ct);
        }

        public override async Task CompleteAsync(CancellationToken ct)
        {
            _closed = true;
            await _writer.DisposeAsync();
            await _file.CommitAsync(ct);
        }

        public override async ValueTask DisposeAsync()
        {
            // A writer left open by leaveOpen flushes again when disposed twice, onto the closed file: once only.
            if (!_closed)
            {
                _closed = true;
                try { await _writer.DisposeAsync(); }
                catch (IOException) { } // flushing what is discarded anyway
            }
            await _file.DisposeAsync();
        }
    }
}
