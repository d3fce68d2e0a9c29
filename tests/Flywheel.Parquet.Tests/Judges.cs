using System.Diagnostics;

namespace Flywheel.Parquet.Tests;

/// <summary>
/// The independent Parquet readers (DuckDB, hyparquet, arrow-rs through parquet-wasm), installed once per test run
/// with <c>npm install</c> from the pinned package.json and package-lock.json and driven through judges/read.mjs.
/// (Not <c>npm ci</c>: with this machine's npm settings it rejects any lock file as missing other platforms' optional
/// DuckDB binaries; <c>npm install</c> installs the locked versions and leaves the lock file as it is.)
/// </summary>
public sealed class JudgesFixture
{
    /// <summary>Why the judges cannot run, or null when they can.</summary>
    public string? Unavailable { get; } = DoInstall();

    /// <summary>Each file's canonical JSON lines as <paramref name="judge"/> reads them; an error line where it fails.</summary>
    public Dictionary<string, List<string>> Read(string judge, IEnumerable<string> files)
    {
        if (Unavailable is not null)
        {
            throw new InvalidOperationException(Unavailable);
        }

        var output = Run("node", ["read.mjs", judge, .. files], TimeSpan.FromMinutes(3));
        var result = new Dictionary<string, List<string>>();
        List<string>? current = null;
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("### FILE ", StringComparison.Ordinal))
            {
                result[line[9..]] = current = [];
            }
            else
            {
                current?.Add(line);
            }
        }

        return result;
    }

    public List<string> Read(string judge, string file) => Read(judge, [file])[file];

    internal static string Run(string exe, IEnumerable<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(exe)
        {
            WorkingDirectory = TestData.JudgesDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {exe}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{exe} {string.Join(' ', args)} ran past {timeout}");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{exe} exited with {process.ExitCode}: {stderr.Result}");
        }

        return stdout.Result;
    }

    private static string? DoInstall()
    {
        try
        {
            Run("node", ["--version"], TimeSpan.FromSeconds(30));
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return "node is not installed: " + e.Message;
        }

        // Another test assembly (the CLI's end-to-end tests) may install the judges at the same time.
        using var installLock = Flywheel.Tests.Shared.JudgesInstall.Lock(TestData.JudgesDir);
        var marker = Path.Combine(TestData.JudgesDir, "node_modules", ".package-lock.json");
        var lockFile = Path.Combine(TestData.JudgesDir, "package-lock.json");
        if (!File.Exists(marker) || File.GetLastWriteTimeUtc(marker) < File.GetLastWriteTimeUtc(lockFile))
        {
            try
            {
                Run("npm", ["install", "--no-audit", "--no-fund"], TimeSpan.FromMinutes(5));
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
            {
                return "npm install failed (is the npm registry reachable?): " + e.Message;
            }
        }

        return null;
    }

}

[CollectionDefinition("judges")]
public sealed class JudgesGroup : ICollectionFixture<JudgesFixture>;
