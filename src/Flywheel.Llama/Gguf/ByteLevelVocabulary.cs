namespace Flywheel.Llama.Gguf;

/// <summary>
/// The vocabulary of Flywheel's own tiny models: the 256 bytes (spelled with GPT-2's byte→unicode map, so llama.cpp's
/// byte-level BPE reads them) followed by chat special tokens, with no merges — every byte of text is one token.
/// Specials are control tokens, so they parse as one token and never come out of detokenization as text.
/// </summary>
public static class ByteLevelVocabulary
{
    public const string BeginOfText = "<|begin_of_text|>";
    public const string EndOfText = "<|end_of_text|>";
    public const string ImStart = "<|im_start|>";
    public const string ImEnd = "<|im_end|>";
    public const string StartHeader = "<|start_header_id|>";
    public const string EndHeader = "<|end_header_id|>";
    public const string EotId = "<|eot_id|>";

    private static readonly string[] Specials = [BeginOfText, EndOfText, ImStart, ImEnd, StartHeader, EndHeader, EotId];

    /// <summary>The ChatML template (as a Jinja string, which llama.cpp's template detection recognises).</summary>
    public const string ChatMlTemplate =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    public static int Size => 256 + Specials.Length;

    public static int BosId => TokenId(BeginOfText);
    public static int EosId => TokenId(EndOfText);
    public static int EndOfTurnId => TokenId(ImEnd);

    public static int TokenId(string special)
    {
        int i = Array.IndexOf(Specials, special);
        return i < 0 ? throw new ArgumentException($"'{special}' is not a special token of the byte-level vocabulary", nameof(special)) : 256 + i;
    }

    /// <summary>Writes the tokenizer metadata llama.cpp needs for a gpt2-style byte-level vocabulary.</summary>
    public static void AddTo(GgufWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var map = ByteToUnicode();
        var tokens = new string[Size];
        var types = new int[Size];
        for (int b = 0; b < 256; b++)
        {
            tokens[b] = map[b].ToString();
            types[b] = 1; // normal
        }
        for (int i = 0; i < Specials.Length; i++)
        {
            tokens[256 + i] = Specials[i];
            types[256 + i] = 3; // control
        }
        writer.Set("tokenizer.ggml.model", GgufValue.Of("gpt2"))
            .Set("tokenizer.ggml.pre", GgufValue.Of("gpt-2"))
            .Set("tokenizer.ggml.tokens", GgufValue.Of(tokens))
            .Set("tokenizer.ggml.token_type", GgufValue.Of(types))
            .Set("tokenizer.ggml.merges", GgufValue.Of(Array.Empty<string>()))
            .Set("tokenizer.ggml.bos_token_id", GgufValue.Of((uint)BosId))
            .Set("tokenizer.ggml.eos_token_id", GgufValue.Of((uint)EosId))
            .Set("tokenizer.ggml.eot_token_id", GgufValue.Of((uint)EndOfTurnId))
            .Set("tokenizer.ggml.add_bos_token", GgufValue.Of(true))
            .Set("tokenizer.ggml.add_eos_token", GgufValue.Of(false))
            .Set("tokenizer.chat_template", GgufValue.Of(ChatMlTemplate));
    }

    /// <summary>GPT-2's reversible byte→unicode map: printable bytes stand for themselves, the rest move above U+0100.</summary>
    internal static char[] ByteToUnicode()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }
}
