using System.Diagnostics;

namespace Flywheel.Cli.Tests;

/// <summary>
/// llama.cpp's own llama-server (tools/server), built from the source node-llama-cpp@3.22.1 ships (llama.cpp v0.5.0,
/// <c>llama/gitRelease.bundle</c>): found in the cache folder bench/llama-server-compare.sh also builds into
/// (${XDG_CACHE_HOME:-~/.cache}/flywheel/llama-server-v0.5.0), else built there once, which takes minutes. The package
/// comes over plain HTTP from the npm registry this machine is configured with (no node or npm needed); the build
/// needs tar, git, cmake and a C++ compiler. Anything missing fails the tests that need the server, saying what.
/// </summary>
public sealed class LlamaServerBuild
{
    private const string Version = "v0.5.0";
    private const string PackageVersion = "3.22.1";

    public LlamaServerBuild()
    {
        string cache = Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "flywheel");
        Directory = Path.Combine(cache, $"llama-server-{Version}");
        if (!File.Exists(Executable)) Build(cache);
        // It must run here, not only exist: a copy from another machine may miss a library.
        var (code, output) = Run(Executable, ["--version"], null, Directory);
        if (code != 0) throw new InvalidOperationException($"{Executable} --version failed (exit {code}): {output}");
    }

    /// <summary>The folder with llama-server and the shared libraries it loads (put on LD_LIBRARY_PATH).</summary>
    public string Directory { get; }

    public string Executable => Path.Combine(Directory, "llama-server");

    private void Build(string cache)
    {
        string src = Path.Combine(cache, "src");
        string tree = Path.Combine(src, $"llama.cpp-{Version}");
        System.IO.Directory.CreateDirectory(src);
        if (!System.IO.Directory.Exists(Path.Combine(tree, ".git")))
        {
            string tgz = Path.Combine(src, $"node-llama-cpp-{PackageVersion}.tgz");
            if (!File.Exists(tgz)) Download(NpmRegistry().TrimEnd('/') + $"/node-llama-cpp/-/node-llama-cpp-{PackageVersion}.tgz", tgz);
            string unpacked = System.IO.Directory.CreateTempSubdirectory("flywheel-llama-src-").FullName;
            try
            {
                Must("tar", ["-xzf", tgz, "-C", unpacked, "package/llama/gitRelease.bundle", "package/llama/llama.cpp.info.json"]);
                string info = File.ReadAllText(Path.Combine(unpacked, "package", "llama", "llama.cpp.info.json"));
                if (!info.Contains($"\"{Version}\"", StringComparison.Ordinal))
                    throw new InvalidOperationException($"node-llama-cpp@{PackageVersion} does not bundle llama.cpp {Version}: {info}");
                Must("git", ["clone", "-q", Path.Combine(unpacked, "package", "llama", "gitRelease.bundle"), tree]);
            }
            finally
            {
                System.IO.Directory.Delete(unpacked, recursive: true);
            }
        }
        string build = Path.Combine(tree, "build");
        Must("cmake", ["-S", tree, "-B", build, "-DCMAKE_BUILD_TYPE=Release", "-DGGML_NATIVE=ON", "-DLLAMA_CURL=OFF",
            "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=ON"]);
        Must("cmake", ["--build", build, "--target", "llama-server", "llama-batched-bench", "-j", Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        // Into a folder beside the final one first, so an interrupted copy is never taken for a build.
        string staging = Directory + ".partial";
        if (System.IO.Directory.Exists(staging)) System.IO.Directory.Delete(staging, recursive: true);
        Must("cp", ["-a", Path.Combine(build, "bin") + "/.", staging]);
        System.IO.Directory.Move(staging, Directory);
    }

    /// <summary>The registry npm would use: $npm_config_registry, else ~/.npmrc's registry=, else the public one.</summary>
    private static string NpmRegistry()
    {
        if (Environment.GetEnvironmentVariable("npm_config_registry") is { Length: > 0 } env) return env;
        string npmrc = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".npmrc");
        var line = File.Exists(npmrc) ? File.ReadLines(npmrc).Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("registry=", StringComparison.Ordinal)) : null;
        return line?["registry=".Length..] ?? "https://registry.npmjs.org/";
    }

    private static void Download(string url, string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        using var response = http.GetAsync(url).GetAwaiter().GetResult();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"GET {url}: {(int)response.StatusCode} {response.StatusCode}");
        string partial = path + ".partial";
        using (var file = File.Create(partial)) response.Content.CopyToAsync(file).GetAwaiter().GetResult();
        File.Move(partial, path, overwrite: true);
    }

    private static void Must(string tool, string[] args)
    {
        int code;
        string output;
        try
        {
            (code, output) = Run(tool, args, null, null);
        }
        catch (System.ComponentModel.Win32Exception missing)
        {
            throw new InvalidOperationException($"building llama-server needs {tool}, which cannot be started: {missing.Message}");
        }
        if (code != 0) throw new InvalidOperationException($"building llama-server: {tool} {string.Join(' ', args)} failed (exit {code}): {output[Math.Max(0, output.Length - 2000)..]}");
    }

    internal static (int Code, string Output) Run(string file, string[] args, string? workingDirectory, string? libraryPath)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory ?? "" };
        if (libraryPath is not null) psi.Environment["LD_LIBRARY_PATH"] = libraryPath;
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout + stderr.Result);
    }
}

/// <summary>Tests that start llama-server processes share one build (and run one at a time, being CPU-heavy).</summary>
[CollectionDefinition(Name)]
public sealed class LlamaServerTests : ICollectionFixture<LlamaServerBuild>
{
    public const string Name = "llama-server";
}
