using System.CommandLine;
using Flywheel.Cli.Commands;
using Flywheel.Llama;
using Flywheel.Pipeline;

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
            await stderr.WriteLineAsync($"flywheel: {Describe(e)}");
            if (parsed.GetValue(verbose)) await stderr.WriteLineAsync(e.ToString());
            return ExitCodes.RunFailed;
        }
    }

    // A stage that failed on bad input (a dataset row it read) is bad input too; nothing else is: an exception of ours,
    // of .NET or of a native library that no check turned into an InputException is a failure of the run.
    private static bool IsBadInput(Exception e) => e is InputException or StageFailedException { InnerException: InputException };

    /// <summary>The failure's one line: the message alone for the failures a run meets (I/O, the engines), with the type for the rest (our bugs).</summary>
    private static string Describe(Exception e) => e switch
    {
        StageFailedException s => $"round {s.Round}, stage {s.Stage}: {Describe(s.InnerException!)}",
        IOException or LlamaException or Training.TrainingDivergedException or Training.Torch.TrainingBackendException or InputException => OneLine(e.Message),
        _ => $"{e.GetType().Name}: {OneLine(e.Message)}",
    };

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
