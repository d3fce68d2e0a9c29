using System.Diagnostics;

namespace Flywheel.Llama.Tests;

/// <summary>The build's native-library fetch refuses a package whose sha512 is not the pinned one.</summary>
public class NativeFetchTests
{
    [Fact]
    public void A_wrong_integrity_stops_the_build_with_one_line_naming_the_package()
    {
        string project = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../src/Flywheel.Llama/Flywheel.Llama.csproj"));
        Assert.True(File.Exists(project), project);
        string cache = Directory.CreateTempSubdirectory("flywheel-fetch-test-").FullName;
        try
        {
            var psi = new ProcessStartInfo("dotnet", ["msbuild", project, "-t:FetchLlamaNative", "-nologo", "-v:q",
                "-p:LlamaCpuIntegrity=sha512-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
                $"-p:FlywheelNativeCache={cache}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.NotEqual(0, p.ExitCode);
            var errors = output.Split('\n').Where(l => l.Contains("error", StringComparison.Ordinal)).Distinct().ToList();
            Assert.Contains(errors, l => l.Contains("@node-llama-cpp/linux-x64@3.22.1 failed its integrity check"));
            // Nothing half-written is left in the cache.
            Assert.Empty(Directory.GetFileSystemEntries(cache));
        }
        finally
        {
            Directory.Delete(cache, true);
        }
    }
}
