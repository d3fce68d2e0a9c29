namespace Flywheel.Cli.Tests;

/// <summary>Runs the `flywheel` command line in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Out, string Error);

    public static async Task<Result> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await FlywheelCli.RunAsync(args, stdout, stderr, CancellationToken.None);
        return new Result(code, stdout.ToString(), stderr.ToString());
    }

    public static string TempDir() => Directory.CreateTempSubdirectory("flywheel-cli-tests-").FullName;

    public static string Vocab(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "vocab", name);
}
