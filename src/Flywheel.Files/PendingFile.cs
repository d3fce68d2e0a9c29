namespace Flywheel.Files;

/// <summary>
/// A file being written: a stream on a temporary name beside the target that becomes the target only on
/// <see cref="Commit"/> (synced to disk, renamed over it, the rename synced). Disposed uncommitted, it is removed, so
/// a failed or abandoned write leaves the old file, or none, never a torn one.
/// </summary>
public sealed class PendingFile : IDisposable, IAsyncDisposable
{
    private bool _done;

    private PendingFile(string path, string tempPath, FileStream stream)
    {
        Path = path;
        TempPath = tempPath;
        Stream = stream;
    }

    /// <summary>The file it will become.</summary>
    public string Path { get; }

    /// <summary>Where it is written meanwhile: NAME.tmp-PID-GUID (<see cref="AtomicFile.CleanUp"/> finds what a killed process left).</summary>
    public string TempPath { get; }

    public FileStream Stream { get; }

    public static PendingFile Create(string path, int bufferSize = 1 << 16, bool asynchronous = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        string temp = AtomicFile.TempPathFor(full);
        var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize,
            asynchronous ? FileOptions.Asynchronous : FileOptions.None);
        return new PendingFile(full, temp, stream);
    }

    /// <summary>Makes the written bytes the file at <see cref="Path"/>; the stream is closed.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_done, this);
        _done = true;
        try
        {
            Stream.Flush(flushToDisk: true);
            Stream.Dispose();
            AtomicFile.Publish(TempPath, Path);
        }
        catch
        {
            Discard();
            throw;
        }
    }

    public async ValueTask CommitAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_done, this);
        _done = true;
        try
        {
            await Stream.FlushAsync(cancellationToken);
            Stream.Flush(flushToDisk: true);
            await Stream.DisposeAsync();
            AtomicFile.Publish(TempPath, Path);
        }
        catch
        {
            Discard();
            throw;
        }
    }

    /// <summary>Uncommitted: closes the stream and removes the temporary (closing can fail too, flushing onto a full disk).</summary>
    public void Dispose()
    {
        if (_done) return;
        _done = true;
        Discard();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private void Discard()
    {
        try
        {
            Stream.Dispose();
        }
        catch (IOException)
        {
            // the buffered bytes had nowhere to go; they were not wanted
        }
        finally
        {
            File.Delete(TempPath);
        }
    }
}
