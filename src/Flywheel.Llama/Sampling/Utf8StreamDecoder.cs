using System.Text;

namespace Flywheel.Llama.Sampling;

/// <summary>
/// Turns a candidate's token bytes into text as they come: a character split across tokens is held back until its
/// last byte arrives, so the text never holds half a character.
/// </summary>
internal sealed class Utf8StreamDecoder
{
    private readonly Decoder _decoder = new UTF8Encoding(false).GetDecoder();
    private readonly StringBuilder _text = new();

    /// <summary>Characters decoded so far.</summary>
    public int Length => _text.Length;

    public void Append(ReadOnlySpan<byte> bytes)
    {
        int n = _decoder.GetCharCount(bytes, flush: false);
        Span<char> chars = n <= 256 ? stackalloc char[n] : new char[n];
        _decoder.GetChars(bytes, chars, flush: false);
        _text.Append(chars);
    }

    /// <summary>The text from <paramref name="start"/> to the end.</summary>
    public string Tail(int start) => _text.ToString(start, _text.Length - start);

    /// <summary>The whole text, cut at <paramref name="length"/> when given; bytes of an unfinished character become U+FFFD.</summary>
    public string Finish(int? length)
    {
        int n = _decoder.GetCharCount([], flush: true);
        Span<char> tail = stackalloc char[n];
        _decoder.GetChars([], tail, flush: true);
        _text.Append(tail);
        return _text.ToString(0, length ?? _text.Length);
    }
}
