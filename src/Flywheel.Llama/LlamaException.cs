namespace Flywheel.Llama;

/// <summary>A failure of the native engine or of its input: the message is one line that names the file or value at fault.</summary>
public class LlamaException : Exception
{
    public LlamaException() { }
    public LlamaException(string message) : base(message) { }
    public LlamaException(string message, Exception innerException) : base(message, innerException) { }
}
