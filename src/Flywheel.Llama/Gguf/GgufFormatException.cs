namespace Flywheel.Llama.Gguf;

/// <summary>A GGUF file that is not well-formed: the message names the file and the byte offset of the fault.</summary>
public sealed class GgufFormatException : LlamaException
{
    public GgufFormatException() { }
    public GgufFormatException(string message) : base(message) { }
    public GgufFormatException(string message, Exception innerException) : base(message, innerException) { }

    internal GgufFormatException(string file, long offset, string problem)
        : base($"{file}: not a valid GGUF file at byte {offset}: {problem}")
    {
        File = file;
        Offset = offset;
    }

    public string? File { get; }
    public long Offset { get; }
}
