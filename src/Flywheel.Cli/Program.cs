using Flywheel.Cli;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl-C asks the run to stop at its next checkpoint; a second one ends the process.
    if (cancel.IsCancellationRequested) return;
    e.Cancel = true;
    cancel.Cancel();
};
return await FlywheelCli.RunAsync(args, Console.Out, Console.Error, cancel.Token);
