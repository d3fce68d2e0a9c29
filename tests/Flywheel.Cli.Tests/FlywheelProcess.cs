using System.Diagnostics;
using Flywheel.Parquet;

namespace Flywheel.Cli.Tests;

/// <summary>The `flywheel` command line as a process of its own: one that can be killed, or filled a disk under.</summary>
internal static class FlywheelProcess
{
    public static Process Start(params string[] args) => Start(null, args);

    /// <param name="onError">Receives each line the process prints to stderr.</param>
    public static Process Start(Action<string>? onError, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "flywheel.dll"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) onError?.Invoke(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    public static int WaitForExitCode(this Process p)
    {
        using (p)
        {
            p.WaitForExit();
            return p.ExitCode;
        }
    }

    /// <summary>A Parquet file's rows, each as JSON, in file order: for comparing two runs' files.</summary>
    public static async Task<List<string>> RowsAsync(string path)
    {
        var rows = new List<string>();
        await using var reader = await ParquetReader.OpenAsync(path);
        await foreach (var row in reader.ReadJsonAsync(new ParquetReadOptions())) rows.Add(row.ToJsonString());
        return rows;
    }
}
