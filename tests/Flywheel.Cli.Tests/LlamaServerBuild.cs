using System.Diagnostics;

namespace Flywheel.Cli.Tests;

/// <summary>
/// llama.cpp's own llama-server (tools/server), built from the source node-llama-cpp@3.22.1 ships (llama.cpp v0.5.0,
/// <c>llama/gitRelease.bundle</c>) by bench/llama-server-build.sh, the script the llama-server benches source: it
/// finds the build in its cache folder (${XDG_CACHE_HOME:-~/.cache}/flywheel/llama-server-v0.5.0), else builds it
/// there once, which takes minutes. The package comes over plain HTTP from the npm registry this machine is configured
/// with (no node or npm needed); the build needs curl, tar, git, cmake and a C++ compiler. Anything missing fails the
/// tests that need the server, saying what.
/// </summary>
public sealed class LlamaServerBuild
{
    public LlamaServerBuild()
    {
        string script = Path.Combine(RepoRoot(), "bench", "llama-server-build.sh");
        var (code, stdout, stderr) = Run("bash", [script], null);
        if (code != 0) throw new InvalidOperationException($"{script} failed (exit {code}): {stderr[Math.Max(0, stderr.Length - 2000)..]}");
        Directory = stdout.Trim();
        // It must run here, not only exist: a copy from another machine may miss a library.
        (code, stdout, stderr) = Run(Executable, ["--version"], Directory);
        if (code != 0) throw new InvalidOperationException($"{Executable} --version failed (exit {code}): {stdout}{stderr}");
    }

    /// <summary>The folder with llama-server and the shared libraries it loads (put on LD_LIBRARY_PATH).</summary>
    public string Directory { get; }

    public string Executable => Path.Combine(Directory, "llama-server");

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Flywheel.sln"))) return dir.FullName;
        throw new InvalidOperationException("Flywheel.sln not found above " + AppContext.BaseDirectory);
    }

    private static (int Code, string Stdout, string Stderr) Run(string file, string[] args, string? libraryPath)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (libraryPath is not null) psi.Environment["LD_LIBRARY_PATH"] = libraryPath;
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }
}

/// <summary>Tests that start llama-server processes share one build (and run one at a time, being CPU-heavy).</summary>
[CollectionDefinition(Name)]
public sealed class LlamaServerTests : ICollectionFixture<LlamaServerBuild>
{
    public const string Name = "llama-server";
}
