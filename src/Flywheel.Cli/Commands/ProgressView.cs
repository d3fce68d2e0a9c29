using System.Collections.Concurrent;
using Flywheel.Pipeline.Stages;
using Spectre.Console;

namespace Flywheel.Cli.Commands;

/// <summary>
/// Draws pipeline progress: Spectre progress bars per stage (done, rate, ETA) on a terminal; one line per stage start
/// and end when output is redirected; JSON lines with --json; nothing with --quiet.
/// </summary>
internal sealed class ProgressView : IProgress<PipelineEvent>, IDisposable
{
    private readonly CliConsole _console;
    private readonly OutputMode _mode;
    private readonly bool _live;
    private readonly ConcurrentDictionary<(int, string), ProgressTask> _tasks = new();
    private readonly TaskCompletionSource _stop = new();
    private readonly TaskCompletionSource<ProgressContext> _context = new();
    private readonly Task? _render;
    private readonly Lock _gate = new();

    private ProgressView(CliConsole console, OutputMode mode)
    {
        _console = console;
        _mode = mode;
        _live = mode == OutputMode.Interactive && ReferenceEquals(console.Out, Console.Out) && !Console.IsOutputRedirected;
        if (_live)
        {
            _render = AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async ctx =>
                {
                    _context.SetResult(ctx);
                    await _stop.Task;
                });
        }
    }

    public static ProgressView Create(CliConsole console, OutputMode mode) => new(console, mode);

    public void Report(PipelineEvent value)
    {
        switch (_mode)
        {
            case OutputMode.Quiet:
                return;
            case OutputMode.Json:
                lock (_gate) _console.WriteJson(new { Event = "progress", value.Round, value.Stage, value.Done, value.Total, value.Message, value.TokensPerSecond });
                return;
        }
        if (!_live)
        {
            if (value.Message is "started" or "done") lock (_gate) _console.Out.WriteLine($"{Label(value.Round, value.Stage)} {value.Message}");
            return;
        }
        var ctx = _context.Task.Result;
        var task = _tasks.GetOrAdd((value.Round, value.Stage), k => ctx.AddTask(Label(k.Item1, k.Item2), maxValue: 1));
        if (value.Message == "done")
        {
            task.Value = task.MaxValue;
            task.StopTask();
            return;
        }
        if (value.Total is long total && total > 0) task.MaxValue = total;
        else if (value.Done > 0) task.IsIndeterminate = true;
        task.Value = Math.Min(value.Done, task.MaxValue);
        string rate = value.TokensPerSecond is double tps ? $" {tps:N0} tok/s" : "";
        task.Description = Markup.Escape($"{Label(value.Round, value.Stage)}{(value.Message is null or "started" ? "" : " · " + value.Message)}{rate}");
    }

    // Round 0 is a command's own work outside any round (flywheel score).
    private static string Label(int round, string stage) => round > 0 ? $"round {round} {stage}" : stage;

    public void Log(string line)
    {
        switch (_mode)
        {
            case OutputMode.Json:
                lock (_gate) _console.WriteJson(new { Event = "log", Message = line });
                break;
            case OutputMode.Interactive when !_live:
                lock (_gate) _console.Out.WriteLine(line);
                break;
            case OutputMode.Interactive:
                AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]");
                break;
        }
    }

    public void Finish()
    {
        _stop.TrySetResult();
        _render?.GetAwaiter().GetResult();
    }

    public void Dispose() => Finish();
}
