using System.Diagnostics;
using Flywheel.Files;

namespace Flywheel.Files.Tests;

/// <summary>A file written through AtomicFile or PendingFile is there whole or not at all, and leaves no temporary behind.</summary>
public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("flywheel-files-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string[] Files() => Directory.GetFiles(_dir, "*", SearchOption.AllDirectories).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    [Fact]
    public void A_committed_file_replaces_the_old_one_and_nothing_else_is_left()
    {
        string path = Path.Combine(_dir, "a.bin");
        File.WriteAllText(path, "old");
        using (var file = PendingFile.Create(path))
        {
            file.Stream.Write("new"u8);
            Assert.Equal("old", File.ReadAllText(path)); // not before the commit
            Assert.StartsWith(path + ".tmp-", file.TempPath, StringComparison.Ordinal);
            file.Commit();
        }
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(["a.bin"], Files());
    }

    [Fact]
    public async Task A_file_disposed_uncommitted_leaves_the_old_one_and_no_temporary()
    {
        string path = Path.Combine(_dir, "a.bin");
        File.WriteAllText(path, "old");
        await using (var file = PendingFile.Create(path, asynchronous: true))
        {
            await file.Stream.WriteAsync(new byte[100_000]);
        }
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal(["a.bin"], Files());
    }

    [Fact]
    public void A_writer_that_throws_leaves_no_file_and_no_temporary()
    {
        string path = Path.Combine(_dir, "sub", "b.txt");
        var e = Assert.Throws<InvalidOperationException>(() => AtomicFile.Commit(path, temp =>
        {
            File.WriteAllText(temp, "half");
            throw new InvalidOperationException("writer failed");
        }));
        Assert.Equal("writer failed", e.Message);
        Assert.Empty(Files());
    }

    [Fact]
    public async Task Text_and_lines_are_written_whole()
    {
        string text = Path.Combine(_dir, "t.json");
        string lines = Path.Combine(_dir, "l.jsonl");
        AtomicFile.WriteAllText(text, "{}");
        await AtomicFile.WriteLinesAsync(lines, ["1", "2", "3"]);
        Assert.Equal("{}", File.ReadAllText(text));
        Assert.Equal(["1", "2", "3"], File.ReadAllLines(lines));
        Assert.Equal(["l.jsonl", "t.json"], Files());
    }

    [Fact]
    public void Clean_up_removes_temporaries_only()
    {
        string kept = Path.Combine(_dir, "run.json");
        File.WriteAllText(kept, "{}");
        Directory.CreateDirectory(Path.Combine(_dir, "round-001"));
        File.WriteAllText(AtomicFile.TempPathFor(kept), "left by a killed process");
        File.WriteAllText(AtomicFile.TempPathFor(Path.Combine(_dir, "round-001", "sft.parquet")), "left too");
        AtomicFile.CleanUp(_dir);
        Assert.Equal(["run.json"], Files());
    }

    [Fact]
    public void On_a_full_disk_the_commit_fails_and_the_old_file_and_the_disk_are_as_before()
    {
        // Tests run as root, which may mount a tmpfs.
        string mount = Path.Combine(_dir, "disk");
        Directory.CreateDirectory(mount);
        Run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount);
        try
        {
            string path = Path.Combine(mount, "a.bin");
            File.WriteAllText(path, "old");
            long free = new DriveInfo(mount).AvailableFreeSpace;
            Assert.ThrowsAny<IOException>(() =>
            {
                using var file = PendingFile.Create(path);
                file.Stream.Write(new byte[2 << 20]);
                file.Commit();
            });
            Assert.Equal("old", File.ReadAllText(path));
            Assert.Equal(["a.bin"], Directory.GetFiles(mount).Select(f => Path.GetFileName(f)).ToArray());
            Assert.Equal(free, new DriveInfo(mount).AvailableFreeSpace);
        }
        finally
        {
            Run("umount", "--lazy", mount);
        }
    }

    private static void Run(string command, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(command, args) { RedirectStandardError = true })!;
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{command} {string.Join(' ', args)}: {error.Trim()}");
    }
}
