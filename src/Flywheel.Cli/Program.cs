using System.Runtime.InteropServices;
using Flywheel.Cli;

using var cancel = new CancellationTokenSource();
// The first Ctrl-C (SIGINT) or SIGTERM (what kill, systemd and schedulers send) asks the run to stop at its next
// checkpoint; a second one ends the process at once. A SIGINT that was ignored when the process started (a job run in
// the background by a shell, or under nohup) stays ignored.
void Stop(PosixSignalContext context)
{
    if (cancel.IsCancellationRequested) return;
    context.Cancel = true;
    cancel.Cancel();
}
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
return await FlywheelCli.RunAsync(args, Console.Out, Console.Error, cancel.Token);
