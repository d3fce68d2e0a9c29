using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Runs;

namespace Flywheel.Cli.Tests;

/// <summary>One process changes a run folder at a time; the others are told who holds it, and readers still read.</summary>
public class RunLockTests
{
    [Fact]
    public async Task A_second_run_or_resume_on_a_folder_in_use_exits_2_naming_the_holder_while_status_still_reads()
    {
        var setup = new TinyRun();
        using (var running = RunStore.OpenOrCreate(setup.RunDir(), ConfigLoader.Load(setup.ConfigPath), 2, force: false))
        {
            foreach (string[] args in new[]
            {
                new[] { "run", "--config", setup.ConfigPath, "--run-dir", setup.RunDir(), "--quiet" },
                new[] { "resume", "--run-dir", setup.RunDir(), "--quiet" },
            })
            {
                var r = await CliRunner.RunAsync(args);
                Assert.Equal(2, r.ExitCode);
                Assert.Single(r.Error.TrimEnd().Split('\n'));
                Assert.Contains($"is in use by flywheel (pid {Environment.ProcessId}", r.Error);
            }
            var status = await CliRunner.RunAsync("status", "--run-dir", setup.RunDir(), "--json");
            Assert.Equal(0, status.ExitCode);
        }
        Assert.All(RunStore.Open(setup.RunDir()).Manifest.Round(1).Stages.Values, s => Assert.Equal(StageState.Pending, s));
    }
}
