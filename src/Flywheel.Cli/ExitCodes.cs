namespace Flywheel.Cli;

/// <summary>The exit codes of the command-line contract (DESIGN.md).</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int RunFailed = 1;
    public const int BadInput = 2;
}

/// <summary>Bad usage or bad input found by a command itself: exit code 2 with this one-line message.</summary>
internal sealed class UsageException : Pipeline.InputException
{
    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
