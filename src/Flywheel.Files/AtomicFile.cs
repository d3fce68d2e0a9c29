using System.Runtime.InteropServices;

namespace Flywheel.Files;

/// <summary>
/// Files that appear complete or not at all: written under a temporary name beside the target, synced to disk,
/// renamed over it, and the folder synced so the rename itself survives a power cut. The one way Flywheel writes a
/// file (run.json, Parquet, GGUF, reward heads, JSON lines); <see cref="PendingFile"/> for writers that stream.
/// </summary>
public static partial class AtomicFile
{
    private const string TempMarker = ".tmp-";

    /// <summary>A unique temporary path beside <paramref name="path"/>: NAME.tmp-PID-GUID.</summary>
    public static string TempPathFor(string path) => $"{path}{TempMarker}{Environment.ProcessId}-{Guid.NewGuid():N}";

    public static void WriteAllText(string path, string contents) => Commit(path, temp => File.WriteAllText(temp, contents));

    /// <summary>Writes text lines (JSONL, say).</summary>
    public static async Task WriteLinesAsync(string path, IEnumerable<string> lines, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lines);
        await using var file = PendingFile.Create(path, asynchronous: true);
        await using (var writer = new StreamWriter(file.Stream, leaveOpen: true))
        {
            foreach (var line in lines) await writer.WriteLineAsync(line.AsMemory(), cancellationToken);
        }
        await file.CommitAsync(cancellationToken);
    }

    /// <summary>For a writer that takes a path, not a stream: it writes the temporary path it is given.</summary>
    public static void Commit(string path, Action<string> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = TempPathFor(full);
        try
        {
            write(temp);
            using (var f = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite)) f.Flush(flushToDisk: true);
            Publish(temp, full);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>
    /// Removes what killed processes left under temporary names in <paramref name="directory"/>. Only for the one
    /// process that owns the folder (the run's lock holder): a running writer's temporaries look the same.
    /// </summary>
    public static void CleanUp(string directory)
    {
        if (!Directory.Exists(directory)) return;
        foreach (var f in Directory.EnumerateFiles(directory, $"*{TempMarker}*", SearchOption.AllDirectories)) File.Delete(f);
    }

    /// <summary>Renames a temporary whose data is on disk over its target, then syncs the folder that holds both.</summary>
    internal static void Publish(string temp, string path)
    {
        File.Move(temp, path, overwrite: true);
        SyncDirectory(Path.GetDirectoryName(path)!);
    }

    // .NET opens no directory (FileStream and File.OpenHandle refuse one), so libc's own calls sync the rename.
    private static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux()) return;
        int fd = Open(directory, 0x10000 /* O_RDONLY | O_DIRECTORY */);
        if (fd < 0) throw new IOException($"{directory}: cannot open the folder to sync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"{directory}: cannot sync the folder (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
