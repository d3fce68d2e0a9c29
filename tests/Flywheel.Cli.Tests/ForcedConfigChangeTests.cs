namespace Flywheel.Cli.Tests;

/// <summary>
/// `run --force` with a changed config redoes the run from where the change takes effect: it ends with the rows a run
/// made with the new config from the start ends with, and a change that feeds no stage redoes nothing.
/// </summary>
public class ForcedConfigChangeTests
{
    [Theory]
    [InlineData("\"selection\": { \"top_n\": 2,", "\"selection\": { \"top_n\": 1,")] // redone from select
    [InlineData("\"temperature\": 1.0,", "\"temperature\": 0.7,")] // redone from sample
    public async Task A_forced_change_ends_with_the_rows_of_a_run_made_with_the_new_config(string before, string after)
    {
        var setup = new TinyRun(rounds: 2);
        string run = setup.RunDir("changed");
        await RunAsync(setup, run);
        string original = File.ReadAllText(setup.ConfigPath);
        Assert.Contains(before, original);
        File.WriteAllText(setup.ConfigPath, original.Replace(before, after, StringComparison.Ordinal));

        var refused = await setup.RunInAsync(run);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("use --force", refused.Error);
        await RunAsync(setup, run, "--force");
        string fresh = setup.RunDir("fresh");
        await RunAsync(setup, fresh);

        for (int round = 1; round <= 2; round++)
        {
            foreach (var file in new[] { "candidates.parquet", "sft.parquet" })
            {
                string at = Path.Combine($"round-{round:000}", file);
                Assert.Equal(await FlywheelProcess.RowsAsync(Path.Combine(fresh, at)), await FlywheelProcess.RowsAsync(Path.Combine(run, at)));
            }
        }
    }

    [Fact]
    public async Task A_forced_change_that_feeds_no_stage_redoes_nothing()
    {
        var setup = new TinyRun(rounds: 1);
        string run = setup.RunDir();
        await RunAsync(setup, run);
        string sft = Path.Combine(run, "round-001", "sft.parquet");
        var written = File.GetLastWriteTimeUtc(sft);
        File.WriteAllText(setup.ConfigPath, File.ReadAllText(setup.ConfigPath).Replace("\"threads\": 1,", "\"threads\": 2,", StringComparison.Ordinal));
        await RunAsync(setup, run, "--force");
        Assert.Equal(written, File.GetLastWriteTimeUtc(sft));
    }

    private static async Task RunAsync(TinyRun setup, string run, params string[] more)
    {
        var r = await setup.RunInAsync(run, more);
        Assert.True(r.ExitCode == 0, r.Error);
    }
}
