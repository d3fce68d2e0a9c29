namespace Flywheel.Pipeline.Runs;

/// <summary>Files that appear complete or not at all: written to a temporary name beside the target, then renamed.</summary>
public static class AtomicFile
{
    /// <summary>A temporary path beside <paramref name="path"/> for a writer that cannot write to a stream.</summary>
    public static string TempPathFor(string path) => $"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";

    public static void WriteAllText(string path, string contents)
    {
        Commit(path, temp => File.WriteAllText(temp, contents));
    }

    /// <summary>Writes text lines (JSONL, say) atomically.</summary>
    public static Task WriteLinesAsync(string path, IEnumerable<string> lines, CancellationToken cancellationToken = default) =>
        CommitAsync(path, async temp =>
        {
            await using var writer = new StreamWriter(temp);
            foreach (var line in lines) await writer.WriteLineAsync(line.AsMemory(), cancellationToken);
        });

    /// <summary>Runs <paramref name="write"/> on a temporary path, then moves the result into place.</summary>
    public static void Commit(string path, Action<string> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        string temp = TempPathFor(path);
        try
        {
            write(temp);
            Flush(temp);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public static async Task CommitAsync(string path, Func<string, Task> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        string temp = TempPathFor(path);
        try
        {
            await write(temp);
            Flush(temp);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Removes temporary files a killed process left behind in <paramref name="directory"/>.</summary>
    public static void CleanUp(string directory)
    {
        if (!Directory.Exists(directory)) return;
        foreach (var f in Directory.EnumerateFiles(directory, "*.tmp-*", SearchOption.AllDirectories)) File.Delete(f);
    }

    // Data reaches the disk before the rename makes it visible, so a power cut cannot leave a renamed empty file.
    private static void Flush(string path)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        f.Flush(flushToDisk: true);
    }
}
