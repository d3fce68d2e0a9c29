using System.Diagnostics;

namespace Flywheel.Cli.Tests;

/// <summary>
/// A small tmpfs mounted on a folder (tests run as root) that can be filled up at any moment: writes there then fail
/// with ENOSPC, as on a full disk.
/// </summary>
internal sealed class SmallDisk : IDisposable
{
    private readonly string _path;
    private int _filled;

    private SmallDisk(string path) => _path = path;

    public string Path => _path;

    public static SmallDisk Mount(string path, int megabytes)
    {
        Directory.CreateDirectory(path);
        Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m", "tmpfs", path);
        return new SmallDisk(path);
    }

    /// <summary>A tmpfs that is full from the start.</summary>
    public static SmallDisk MountFull(string path)
    {
        var disk = Mount(path, 1);
        try
        {
            disk.Fill();
            return disk;
        }
        catch
        {
            disk.Dispose();
            throw;
        }
    }

    /// <summary>Whether <see cref="Fill"/> ran.</summary>
    public bool IsFull => Volatile.Read(ref _filled) == 1;

    /// <summary>Takes every free byte (once; later calls do nothing), so the next write of any process fails.</summary>
    public void Fill()
    {
        if (Interlocked.Exchange(ref _filled, 1) == 1) return;
        // Unbuffered, in ever smaller blocks down to one byte: a write of a whole block fails with room for less left.
        using var stream = new FileStream(FillerPath, FileMode.Create, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        long written = 0;
        foreach (int size in new[] { 1 << 20, 4096, 1 })
        {
            var block = new byte[size];
            try
            {
                while (written < 4L << 30)
                {
                    stream.Write(block);
                    written += size;
                }
                throw new InvalidOperationException($"{_path}: the tmpfs took 4 GiB; it was meant to fill up");
            }
            catch (IOException)
            {
                written = stream.Length; // a failed write may have taken part of its block
            }
        }
    }

    /// <summary>The file that takes the space (not part of any run).</summary>
    public string FillerPath => System.IO.Path.Combine(_path, "filler");

    // Lazily: a run that hung (the failure the tests guard against) may still hold a file open there.
    public void Dispose() => Run("umount", "--lazy", _path);

    private static void Run(string command, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(command, args) { RedirectStandardError = true })!;
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{command} {string.Join(' ', args)}: {error.Trim()}");
    }
}
