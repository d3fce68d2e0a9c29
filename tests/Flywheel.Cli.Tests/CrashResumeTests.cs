using System.Diagnostics;
using System.Text.Json;
using Flywheel.Parquet;
using Flywheel.Pipeline.Runs;
using Flywheel.Pipeline.Stages;
using Xunit.Abstractions;

namespace Flywheel.Cli.Tests;

/// <summary>
/// A run SIGKILLed at random moments and started again each time with the same command ends with exactly the SFT rows
/// (and candidates) of an uninterrupted run with the same seed: nothing lost, nothing duplicated.
/// </summary>
public class CrashResumeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Killed_at_ten_random_moments_the_run_ends_with_the_rows_of_an_uninterrupted_run()
    {
        var setup = new TinyRun(prompts: 96, rounds: 2, partSize: 2, maxNewTokens: 16);
        string reference = setup.RunDir("reference");
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, FlywheelProcess.Start("run", "--config", setup.ConfigPath, "--run-dir", reference, "--quiet").WaitForExitCode());
        double seconds = clock.Elapsed.TotalSeconds;

        string crashed = setup.RunDir("crashed-1");
        var runs = new List<string> { crashed };
        var random = new Random(2024);
        var interrupted = new List<string>();
        while (interrupted.Count < 10)
        {
            var started = DateTime.UtcNow;
            using var p = FlywheelProcess.Start("run", "--config", setup.ConfigPath, "--run-dir", crashed, "--quiet");
            // Let each life get past start-up (it has written run.json), then kill it a random moment later, within
            // half a run: kills land all over the run, however loaded the machine. Every third life is killed soon
            // after sampling has written a part, so that some kills surely land while parts are being written.
            await WaitUntil(p, () => File.Exists(RunStore.ManifestPathOf(crashed)) && File.GetLastWriteTimeUtc(RunStore.ManifestPathOf(crashed)) > started);
            bool inSampling = interrupted.Count % 3 == 2;
            if (inSampling) await WaitUntil(p, () => Directory.EnumerateFiles(crashed, "part-*.parquet", SearchOption.AllDirectories).Any());
            if (p.WaitForExit((int)(1000 * random.NextDouble() * (inSampling ? 0.02 : 0.5) * seconds)))
            {
                // This life finished the run before its kill came (resumed lives can outpace the reference's timing):
                // the run is checked like the last one, and the kills go on in a new run.
                Assert.Equal(0, p.ExitCode);
                Assert.True(runs.Count < 10, $"runs kept finishing before their kill; killed during: {string.Join(", ", interrupted)}");
                crashed = setup.RunDir($"crashed-{runs.Count + 1}");
                runs.Add(crashed);
                continue;
            }

            p.Kill(); // SIGKILL: no cleanup, no flush
            p.WaitForExit();
            interrupted.Add(Running(crashed));
        }
        output.WriteLine($"reference run {seconds:F1}s; {runs.Count} runs killed during: {string.Join(", ", interrupted)}");
        Assert.Equal(0, FlywheelProcess.Start("run", "--config", setup.ConfigPath, "--run-dir", crashed, "--quiet").WaitForExitCode());

        foreach (string run in runs)
        {
            for (int round = 1; round <= 2; round++)
            {
                foreach (var file in new[] { "sft.parquet", "candidates.parquet" })
                {
                    var expected = await FlywheelProcess.RowsAsync(Path.Combine(reference, $"round-{round:000}", file));
                    var actual = await FlywheelProcess.RowsAsync(Path.Combine(run, $"round-{round:000}", file));
                    Assert.Equal(expected.Count, actual.Count);
                    Assert.Equal(expected, actual);
                }
            }
        }
        Assert.Contains(interrupted, s => s.Contains(Stage.Sample, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sigterm_like_ctrl_c_stops_at_a_checkpoint_and_the_same_command_finishes_the_run()
    {
        // The interrupt lands during SFT, made long (many epochs over 192 kept rows) so that a test thread the
        // machine is slow to wake still finds the run going; the resumed run continues from SFT's last checkpoint.
        var setup = new TinyRun(prompts: 96, rounds: 1, partSize: 8);
        string config = File.ReadAllText(setup.ConfigPath);
        Assert.Contains("\"sft\": { \"enabled\": true, \"epochs\": 1,", config);
        File.WriteAllText(setup.ConfigPath, config.Replace("\"sft\": { \"enabled\": true, \"epochs\": 1,", "\"sft\": { \"enabled\": true, \"epochs\": 60,", StringComparison.Ordinal));
        string dir = setup.RunDir();
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using (var p = FlywheelProcess.Start(errors.Enqueue, "run", "--config", setup.ConfigPath, "--run-dir", dir, "--quiet"))
        {
            // Then stop it as kill or a scheduler would (SIGTERM takes Ctrl-C's path; SIGINT itself is ignored by a
            // process whose shell started it in the background, as CI may): the run must still be going, or this test
            // would prove nothing.
            await WaitUntil(p, () => Running(dir).Contains($"1:{Stage.Sft}", StringComparison.Ordinal));
            Assert.False(p.HasExited, $"the run ended (exit {(p.HasExited ? p.ExitCode : 0)}) before it could be interrupted: {string.Join(" | ", errors)}");
            Assert.Equal(0, kill(p.Id, 15));
            p.WaitForExit();
            Assert.Equal(1, p.ExitCode);
        }
        Assert.Contains("flywheel: stopped", errors);
        var manifest = RunStore.Open(dir).Manifest;
        Assert.False(manifest.Round(1).IsDone, "the interrupted run finished anyway");
        Assert.DoesNotContain(manifest.Rounds.SelectMany(r => r.Stages.Values), s => s == StageState.Failed);
        Assert.Equal(0, FlywheelProcess.Start("run", "--config", setup.ConfigPath, "--run-dir", dir, "--quiet").WaitForExitCode());
        Assert.True(RunStore.Open(dir).Manifest.Round(1).IsDone);
        Assert.Equal(192, (await FlywheelProcess.RowsAsync(Path.Combine(dir, "round-001", "sft.parquet"))).Count);
        Assert.True(File.Exists(Path.Combine(dir, "round-001", "policy.gguf")));
    }

    private static async Task WaitUntil(Process p, Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!p.HasExited && !condition() && DateTime.UtcNow < deadline) await Task.Delay(20);
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    private static string Running(string runDir)
    {
        try
        {
            var m = RunStore.Open(runDir).Manifest;
            var stages = m.Rounds.SelectMany(r => r.Stages.Where(s => s.Value == StageState.Running).Select(s => $"{r.Round}:{s.Key}")).ToList();
            return stages.Count > 0 ? string.Join("+", stages) : "(between stages)";
        }
        catch (Flywheel.Pipeline.InputException)
        {
            return "(before run.json)";
        }
    }
}
