using System.CommandLine;
using System.Text.Json;
using Flywheel.Cli.Commands;
using Flywheel.Llama;

namespace Flywheel.Cli;

/// <summary>The `flywheel` command line: parses, runs one command, and maps failures to exit codes with one-line reasons.</summary>
internal static class FlywheelCli
{
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var console = new CliConsole(stdout, stderr);
        var verbose = new Option<bool>("--verbose") { Description = "on a failure, print the exception's stack after its one-line reason", Recursive = true };
        var root = new RootCommand("Flywheel: the Llama 3.1-style post-training data flywheel — preference pairs, reward model, rejection sampling, SFT data.")
        {
            RunCommand.CreateRun(console),
            RunCommand.CreateResume(console),
            StatusCommand.Create(console),
            ExportCommand.Create(console),
            InspectCommand.Create(console),
            ScoreCommand.Create(console),
        };
        root.Options.Add(verbose);
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            await stderr.WriteLineAsync($"flywheel: {parsed.Errors[0].Message} (see 'flywheel --help')");
            return ExitCodes.BadInput;
        }
        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await stderr.WriteLineAsync("flywheel: stopped");
            return ExitCodes.RunFailed;
        }
        catch (Exception e) when (IsBadInput(e))
        {
            await stderr.WriteLineAsync($"flywheel: {OneLine(e.Message)}");
            if (parsed.GetValue(verbose)) await stderr.WriteLineAsync(e.ToString());
            return ExitCodes.BadInput;
        }
        catch (Exception e)
        {
            await stderr.WriteLineAsync($"flywheel: {e.GetType().Name}: {OneLine(e.Message)}");
            if (parsed.GetValue(verbose)) await stderr.WriteLineAsync(e.ToString());
            return ExitCodes.RunFailed;
        }
    }

    // A stage that failed on bad input (a dataset row, a prompt too long, a missing model) is bad input too.
    private static bool IsBadInput(Exception e) => e switch
    {
        Pipeline.StageFailedException s => IsBadInput(s.InnerException!),
        UsageException or LlamaException or FileNotFoundException or DirectoryNotFoundException or JsonException or FormatException
            or ArgumentException or Pipeline.Config.ConfigException or Pipeline.Datasets.DatasetFormatException or Pipeline.Runs.RunInUseException => true,
        _ => false,
    };

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
