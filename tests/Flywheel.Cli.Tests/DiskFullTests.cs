using System.Diagnostics;
using System.Text.Json;
using Xunit.Abstractions;

namespace Flywheel.Cli.Tests;

/// <summary>The reference for <see cref="DiskFullTests"/>: a tiny two-round run that nothing interrupted.</summary>
public sealed class UninterruptedTinyRun
{
    internal TinyRun Setup { get; } = new(prompts: 24, rounds: 2, partSize: 2, maxNewTokens: 8);

    public string Directory { get; }

    public UninterruptedTinyRun()
    {
        Directory = Setup.RunDir("reference");
        using var p = FlywheelProcess.Start("run", "--config", Setup.ConfigPath, "--run-dir", Directory, "--quiet");
        if (p.WaitForExitCode() != 0) throw new InvalidOperationException("the reference run failed");
    }
}

/// <summary>
/// The run folder on a small disk that fills up the moment a given file starts being written: the run exits 1 within
/// a minute with one line naming the cause, leaves no temporary behind, `status --json` still reads the run, and the
/// run copied to a roomy folder and continued there ends with the rows of an uninterrupted run.
/// </summary>
public class DiskFullTests(UninterruptedTinyRun reference, ITestOutputHelper output) : IClassFixture<UninterruptedTinyRun>
{
    [Theory]
    // Sampling takes seconds after it makes the folder of part files: its first part surely meets the full disk. The
    // other files are written in milliseconds, and the run may have gone past them before it is stopped (on a full
    // disk, rewriting run.json still succeeds as each rename frees the old one): then a later write fails, in round 1
    // or 2, and the line names that one.
    [InlineData("round-001/parts", "round 1, stage sample: ")]
    [InlineData("round-001/candidates.parquet", "round ")]
    [InlineData("round-001/sft.parquet", "round ")]
    [InlineData("round-001/policy.gguf", "round ")]
    public async Task A_disk_that_fills_as_a_file_starts_being_written_fails_the_run_cleanly_and_the_run_continues_elsewhere(string file, string where)
    {
        var setup = reference.Setup;
        string name = file.Replace('.', '-').Replace('/', '-');
        string dir = setup.RunDir($"full-{name}");
        var errors = new List<string>();
        // The tiny run needs well under 1 MiB: a small disk fills in milliseconds.
        using (var disk = SmallDisk.Mount(dir, megabytes: 8))
        {
            int pid = 0;
            // Creations only: a run's writes (a TensorBoard event or log line per training step) would queue change events
            // ahead of the creation to catch, which then comes after the write it was to stop.
            using var watcher = new FileSystemWatcher(dir) { IncludeSubdirectories = true, NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName };
            // In round 1: what follows it (round 2) must then come out as it would have.
            string target = Path.Combine(dir, file);
            watcher.Created += (_, e) =>
            {
                if (!(e.FullPath == target || e.FullPath.StartsWith(target + ".tmp-", StringComparison.Ordinal))) return;
                // The run is held still while the disk fills: it must meet the full disk at the write it was making.
                _ = kill(Volatile.Read(ref pid), SIGSTOP);
                disk.Fill();
                _ = kill(Volatile.Read(ref pid), SIGCONT);
            };
            watcher.EnableRaisingEvents = true;

            using var p = FlywheelProcess.Start(l => { lock (errors) errors.Add(l); }, "run", "--config", setup.ConfigPath, "--run-dir", dir, "--quiet");
            Volatile.Write(ref pid, p.Id);
            var clock = Stopwatch.StartNew();
            bool exited = p.WaitForExit(TimeSpan.FromMinutes(1));
            if (!exited) p.Kill();
            p.WaitForExit();
            output.WriteLine($"exit {p.ExitCode} after {clock.Elapsed.TotalSeconds:F1}s: {string.Join(" | ", errors)}");
            Assert.True(exited, $"the run did not exit within a minute of starting: {string.Join(" | ", errors)}");
            Assert.True(disk.IsFull, $"{file} was never written, so the disk never filled (exit {p.ExitCode})");
            Assert.Equal(1, p.ExitCode);
            string line = Assert.Single(errors);
            Assert.StartsWith($"flywheel: {where}", line);
            // The OS's words, or .NET's when a write that preallocates its file's size (File.WriteAllBytes) fails.
            Assert.Matches("No space left on device|because the disk was full", line);

            var status = await CliRunner.RunAsync("status", "--run-dir", dir, "--json");
            Assert.True(status.ExitCode == 0, status.Error);
            using (JsonDocument.Parse(status.Out)) { }
            var leftovers = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Where(f => f.Contains(".tmp-", StringComparison.Ordinal)).ToList();
            Assert.True(leftovers.Count == 0, $"temporaries left behind: {string.Join(", ", leftovers)}");

            // The run goes on in a roomy folder, as a user would move it.
            string roomy = setup.RunDir($"roomy-{name}");
            File.Delete(disk.FillerPath);
            CopyDirectory(dir, roomy);
            using var resumed = FlywheelProcess.Start(l => output.WriteLine($"resumed: {l}"), "run", "--config", setup.ConfigPath, "--run-dir", roomy, "--quiet");
            Assert.Equal(0, resumed.WaitForExitCode());
            for (int round = 1; round <= 2; round++)
            {
                foreach (var rows in new[] { "candidates.parquet", "sft.parquet" })
                {
                    string at = Path.Combine($"round-{round:000}", rows);
                    Assert.Equal(await FlywheelProcess.RowsAsync(Path.Combine(reference.Directory, at)), await FlywheelProcess.RowsAsync(Path.Combine(roomy, at)));
                }
            }
        }
    }

    private const int SIGSTOP = 19, SIGCONT = 18;

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    private static void CopyDirectory(string from, string to)
    {
        foreach (var d in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, d)));
        Directory.CreateDirectory(to);
        foreach (var f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories)) File.Copy(f, Path.Combine(to, Path.GetRelativePath(from, f)));
    }
}
