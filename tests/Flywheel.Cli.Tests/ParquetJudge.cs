using System.Diagnostics;

namespace Flywheel.Cli.Tests;

/// <summary>DuckDB, through the Parquet tests' pinned judges (tests/Flywheel.Parquet.Tests/judges), as an independent reader.</summary>
internal static class ParquetJudge
{
    private static string JudgesDir => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../Flywheel.Parquet.Tests/judges"));

    /// <summary>The rows DuckDB reads from <paramref name="file"/>; null when node or the judges cannot be installed here.</summary>
    public static int? DuckDbRowCount(string file)
    {
        using (Flywheel.Tests.Shared.JudgesInstall.Lock(JudgesDir))
        {
            if (!Directory.Exists(Path.Combine(JudgesDir, "node_modules", "@duckdb")) && Run("npm", ["install", "--no-audit", "--no-fund"]) is null) return null;
        }
        string? output = Run("node", ["read.mjs", "duckdb", file]);
        if (output is null) return null;
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain(lines, l => l.StartsWith("### ERROR", StringComparison.Ordinal));
        return lines.Count(l => !l.StartsWith("###", StringComparison.Ordinal));
    }

    private static string? Run(string exe, string[] args)
    {
        var psi = new ProcessStartInfo(exe, args) { WorkingDirectory = JudgesDir, RedirectStandardOutput = true, RedirectStandardError = true };
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            p.StandardError.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0 ? stdout.Result : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
