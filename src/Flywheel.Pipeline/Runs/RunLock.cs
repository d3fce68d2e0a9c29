using Flywheel.Files;

namespace Flywheel.Pipeline.Runs;

/// <summary>A run folder is in use by another process (or another store in this one).</summary>
public sealed class RunInUseException(string message) : InputException(message);

/// <summary>
/// The right to change a run folder: an exclusive advisory lock (flock, which .NET takes for FileShare.None) on
/// run.lock, held while a run or resume works on the folder and dropped by the kernel when the process dies, so a
/// killed run never leaves a stale lock. Who holds it is written beside it, for the message another process shows.
/// </summary>
internal sealed class RunLock : IDisposable
{
    private readonly FileStream _lock;
    private readonly string _holderPath;

    private RunLock(FileStream @lock, string holderPath)
    {
        _lock = @lock;
        _holderPath = holderPath;
    }

    public static RunLock Acquire(string directory)
    {
        Directory.CreateDirectory(directory);
        string holderPath = Path.Combine(directory, "run.lock.holder");
        FileStream stream;
        try
        {
            stream = new FileStream(Path.Combine(directory, "run.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            string holder = File.Exists(holderPath) ? File.ReadAllText(holderPath).Trim() : "another process";
            throw new RunInUseException($"{directory}: the run is in use by {holder}; wait for it to finish or stop it, or use another --run-dir");
        }
        try
        {
            AtomicFile.WriteAllText(holderPath, FormattableString.Invariant(
                $"flywheel (pid {Environment.ProcessId} on {Environment.MachineName}, since {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC)"));
        }
        catch
        {
            stream.Dispose();
            throw;
        }
        return new RunLock(stream, holderPath);
    }

    public void Dispose()
    {
        File.Delete(_holderPath);
        _lock.Dispose();
    }
}
