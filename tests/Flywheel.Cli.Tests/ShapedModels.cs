using Flywheel.Llama.Gguf;

namespace Flywheel.Cli.Tests;

/// <summary>
/// Random-weight GGUFs shaped like the models the shipped pipelines name, small enough for a test: the real
/// vocabularies of llama.cpp's vocab files, the architecture's tensors and settings, and the chat template in the GGUF.
/// </summary>
internal static class ShapedModels
{
    private const string Llama3Template =
        "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

    private const string ChatMlTemplate =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    private const string Llama2Template =
        "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

    private static LlamaHyperparameters Small(string architecture, bool tied) => new()
    {
        Architecture = architecture, EmbeddingLength = 64, Layers = 4, Heads = 4, KvHeads = 2, FeedForwardLength = 128,
        ContextLength = 8192, TiedOutput = tied, RopeFreqBase = architecture == "qwen2" ? 1_000_000 : 500_000,
    };

    /// <summary>Llama 3.x: llama architecture, the 128,256-token BPE vocabulary, rope_freqs, tied output, Llama 3's template.</summary>
    public static void Llama3(string path) =>
        Create(path, Small("llama", tied: true), "ggml-vocab-llama-bpe.gguf", Llama3Template, ropeFreqs: true);

    /// <summary>Qwen 2.5: qwen2 (q/k/v biases), tied output, ChatML with its own special tokens (in place of two of Llama 3's reserved ones).</summary>
    public static void Qwen25(string path) =>
        Create(path, Small("qwen2", tied: true), "ggml-vocab-llama-bpe.gguf", ChatMlTemplate, ropeFreqs: false,
            rename: new() { ["<|reserved_special_token_2|>"] = "<|im_start|>", ["<|reserved_special_token_3|>"] = "<|im_end|>" }, endOfTurn: "<|im_end|>");

    /// <summary>Mistral / Llama 2: llama architecture, the 32,000-token SentencePiece vocabulary, untied output, the [INST] template.</summary>
    public static void SentencePiece(string path) =>
        Create(path, Small("llama", tied: false), "ggml-vocab-llama-spm.gguf", Llama2Template, ropeFreqs: false);

    private static void Create(string path, LlamaHyperparameters hp, string vocabulary, string template, bool ropeFreqs,
        Dictionary<string, string>? rename = null, string? endOfTurn = null)
    {
        string raw = path + ".raw";
        TinyLlama.Create(raw, new TinyLlamaOptions { Hyperparameters = hp, Seed = 11, InitStd = 0.05f, VocabularyFrom = CliRunner.Vocab(vocabulary), Name = Path.GetFileNameWithoutExtension(path) });
        var source = GgufFile.Open(raw);
        var writer = new GgufWriter();
        foreach (var (key, value) in source.Metadata)
        {
            if (key == "tokenizer.ggml.tokens" && rename is not null)
                writer.Set(key, GgufValue.Of([.. ((string[])value.Value).Select(t => rename.GetValueOrDefault(t, t))]));
            else writer.Set(key, value);
        }
        writer.Set("tokenizer.chat_template", GgufValue.Of(template));
        if (endOfTurn is not null)
        {
            int id = Array.IndexOf((string[])source.Metadata["tokenizer.ggml.tokens"].Value, rename!.First(r => r.Value == endOfTurn).Key);
            writer.Set("tokenizer.ggml.eos_token_id", GgufValue.Of((uint)id)).Set("tokenizer.ggml.eot_token_id", GgufValue.Of((uint)id));
        }
        foreach (var t in source.Tensors) writer.AddTensorBytes(t.Name, t.Shape, t.Type, source.ReadTensorBytes(t));
        if (ropeFreqs)
            writer.AddTensor("rope_freqs.weight", [hp.HeadDim / 2], Enumerable.Range(0, hp.HeadDim / 2).Select(i => 1f + 7f * i / (hp.HeadDim / 2 - 1)).ToArray());
        writer.WriteTo(path);
        File.Delete(raw);
    }
}
