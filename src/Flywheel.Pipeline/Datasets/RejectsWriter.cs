using System.Text;
using System.Text.Json.Nodes;

namespace Flywheel.Pipeline.Datasets;

/// <summary>Writes set-aside rows as JSONL: where each came from, why, and the original line or row.</summary>
internal sealed class RejectsWriter : IAsyncDisposable
{
    private readonly StreamWriter _writer;

    private RejectsWriter(string path)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        _writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
    }

    public static RejectsWriter? Open(string? path) => path is null ? null : new RejectsWriter(path);

    public async Task WriteAsync(SourceRow row, DatasetFormatException error, CancellationToken cancellationToken)
    {
        var reject = new JsonObject { ["source"] = row.At.ToString(), ["reason"] = error.Reason ?? error.Message };
        row.AddOriginal(reject);
        await _writer.WriteLineAsync(reject.ToJsonString().AsMemory(), cancellationToken);
    }

    public ValueTask DisposeAsync() => _writer.DisposeAsync();
}
