using System.Text;
using Flywheel.Llama.Native;

namespace Flywheel.Llama;

/// <summary>A model's vocabulary: tokenize and detokenize with llama.cpp's own tokenizer.</summary>
public sealed unsafe class LlamaVocabulary
{
    private readonly LlamaModel _model;
    private readonly IntPtr _vocab;

    internal LlamaVocabulary(LlamaModel model, IntPtr vocab)
    {
        _model = model;
        _vocab = vocab;
        Count = LlamaNative.llama_vocab_n_tokens(vocab);
        Bos = LlamaNative.llama_vocab_bos(vocab);
        Eos = LlamaNative.llama_vocab_eos(vocab);
        Eot = LlamaNative.llama_vocab_eot(vocab);
        AddsBos = LlamaNative.llama_vocab_get_add_bos(vocab);
        AddsEos = LlamaNative.llama_vocab_get_add_eos(vocab);
        // As llama.cpp decides it: SentencePiece vocabularies prefix a space unless the GGUF says not to.
        _addsSpacePrefix = new Lazy<bool>(() =>
        {
            bool spm = LlamaNative.llama_vocab_type(vocab) == 1;
            string? flag = model.Metadata.GetValueOrDefault("tokenizer.ggml.add_space_prefix");
            return spm ? flag != "false" : flag == "true";
        });
    }

    private readonly Lazy<bool> _addsSpacePrefix;

    internal IntPtr Handle => _vocab;

    public int Count { get; }

    /// <summary>Beginning-of-sequence token, or -1.</summary>
    public int Bos { get; }

    public int Eos { get; }

    /// <summary>End-of-turn token, or -1.</summary>
    public int Eot { get; }

    /// <summary>Whether the model expects a BOS token at the start of every sequence.</summary>
    public bool AddsBos { get; }

    public bool AddsEos { get; }

    /// <summary>True for tokens that end generation (EOS, EOT and the like).</summary>
    public bool IsEndOfGeneration(int token) => LlamaNative.llama_vocab_is_eog(_vocab, token);

    public bool IsControl(int token) => LlamaNative.llama_vocab_is_control(_vocab, token);

    /// <summary>The token's text as stored in the vocabulary (e.g. "Ġthe" for byte-level BPE).</summary>
    public string TokenText(int token)
    {
        CheckToken(token);
        return LlamaNative.Utf8(LlamaNative.llama_vocab_get_text(_vocab, token)) ?? "";
    }

    /// <summary>
    /// Tokenizes <paramref name="text"/>. With <paramref name="addSpecial"/> the model's BOS/EOS are added as it asks;
    /// with <paramref name="parseSpecial"/> special-token text (such as "&lt;|im_start|&gt;") becomes those tokens.
    /// A BOS that the text already starts with is never doubled.
    /// </summary>
    public int[] Tokenize(string text, bool addSpecial = false, bool parseSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        int capacity = utf8.Length + 8;
        while (true)
        {
            var tokens = new int[capacity];
            int n;
            fixed (byte* t = utf8)
            fixed (int* o = tokens)
                n = LlamaNative.llama_tokenize(_vocab, t, utf8.Length, o, capacity, addSpecial, parseSpecial);
            if (n == int.MinValue) throw new LlamaException($"text of {utf8.Length} bytes gives more tokens than fit in an int");
            if (n < 0)
            {
                capacity = -n;
                continue;
            }
            // A chat template that writes the BOS text itself, tokenized with add_special, would give BOS BOS.
            if (addSpecial && n >= 2 && Bos >= 0 && tokens[0] == Bos && tokens[1] == Bos)
                return tokens.AsSpan(1, n - 1).ToArray();
            return tokens.AsSpan(0, n).ToArray();
        }
    }

    /// <summary>The raw bytes of one token (special tokens render as their text only when <paramref name="special"/>).</summary>
    public byte[] TokenBytes(int token, bool special = false) => TokenBytes(token, special, lstrip: 0);

    private byte[] TokenBytes(int token, bool special, int lstrip)
    {
        CheckToken(token);
        Span<byte> buffer = stackalloc byte[128];
        int n;
        fixed (byte* b = buffer) n = LlamaNative.llama_token_to_piece(_vocab, token, b, buffer.Length, lstrip, special);
        if (n >= 0) return buffer[..n].ToArray();
        var big = new byte[-n];
        fixed (byte* b = big) n = LlamaNative.llama_token_to_piece(_vocab, token, b, big.Length, lstrip, special);
        return big.AsSpan(0, n).ToArray();
    }

    /// <summary>
    /// Detokenizes: the bytes of all tokens are joined before UTF-8 decoding, so characters split across tokens survive,
    /// and the space a SentencePiece vocabulary prefixes when tokenizing is removed — Tokenize's exact inverse.
    /// </summary>
    public string Detokenize(ReadOnlySpan<int> tokens, bool special = false)
    {
        var bytes = new List<byte>(tokens.Length * 4);
        for (int i = 0; i < tokens.Length; i++) bytes.AddRange(TokenBytes(tokens[i], special, lstrip: i == 0 && _addsSpacePrefix.Value ? 1 : 0));
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private void CheckToken(int token)
    {
        if ((uint)token >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(token), token, $"token id outside the vocabulary of {_model.Path} ({Count} tokens)");
    }
}
