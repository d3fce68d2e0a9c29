using System.Text;
using System.Text.Json.Nodes;
using Flywheel.Files;

namespace Flywheel.Pipeline.Datasets;

/// <summary>
/// Writes set-aside rows as JSONL: where each came from, why, and the original line or row. The file appears when the
/// reading ends, whole (an earlier pass's file stays until then), never half a line.
/// </summary>
internal sealed class RejectsWriter : IAsyncDisposable
{
    private readonly PendingFile _file;
    private readonly StreamWriter _writer;

    private RejectsWriter(string path)
    {
        _file = PendingFile.Create(path, asynchronous: true);
        _writer = new StreamWriter(_file.Stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), leaveOpen: true);
    }

    public static RejectsWriter? Open(string? path) => path is null ? null : new RejectsWriter(path);

    public async Task WriteAsync(SourceRow row, DatasetFormatException error, CancellationToken cancellationToken)
    {
        var reject = new JsonObject { ["source"] = row.At.ToString(), ["reason"] = error.Reason ?? error.Message };
        row.AddOriginal(reject);
        await _writer.WriteLineAsync(reject.ToJsonString().AsMemory(), cancellationToken);
    }

    /// <summary>Publishes the rows set aside so far: the reading ended, or its reader stopped reading.</summary>
    public async ValueTask DisposeAsync()
    {
        await using (_file)
        {
            await _writer.DisposeAsync();
            await _file.CommitAsync();
        }
    }
}
