namespace Flywheel.Pipeline;

/// <summary>
/// The user's input is bad: a config, a dataset, a model or a run folder they named, or what they asked of it. The
/// one-line message names the file and the place in it. The command line exits 2 for these and only these; anything
/// else that stops a run is a failure of the run (exit 1).
/// </summary>
public class InputException : Exception
{
    public InputException()
    {
    }

    public InputException(string message)
        : base(message)
    {
    }

    public InputException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
