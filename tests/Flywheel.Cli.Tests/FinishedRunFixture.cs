using Flywheel.Pipeline.Stages;

namespace Flywheel.Cli.Tests;

/// <summary>One finished tiny run whose round-1 reward model and files the score and export tests read (and never change).</summary>
public sealed class FinishedRunFixture : IAsyncLifetime
{
    internal TinyRun Setup { get; } = new(prompts: 12, rounds: 1);

    public string RunDir => Setup.RunDir();

    public string Round => Path.Combine(RunDir, "round-001");

    public List<CandidateRow> Candidates { get; } = [];

    public async Task InitializeAsync()
    {
        var run = await CliRunner.RunAsync("run", "--config", Setup.ConfigPath, "--run-dir", RunDir, "--quiet");
        Assert.True(run.ExitCode == 0, run.Error);
        Candidates.AddRange(await ScoreCommandTests.ReadAsync<CandidateRow>(Path.Combine(Round, "candidates.parquet")));
    }

    public Task DisposeAsync() => Task.CompletedTask;
}
