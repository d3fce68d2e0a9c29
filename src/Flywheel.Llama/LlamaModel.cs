using Flywheel.Llama.Gguf;
using Flywheel.Llama.Native;

namespace Flywheel.Llama;

/// <summary>A GGUF model loaded by llama.cpp: its metadata, vocabulary and chat template. Thread-safe for reading.</summary>
public sealed unsafe class LlamaModel : IDisposable
{
    private readonly SafeLlamaModelHandle _handle;
    private readonly Lazy<IReadOnlyDictionary<string, string>> _metadata;

    private LlamaModel(string path, SafeLlamaModelHandle handle)
    {
        Path = path;
        _handle = handle;
        Vocabulary = new LlamaVocabulary(this, LlamaNative.llama_model_get_vocab(handle));
        _metadata = new Lazy<IReadOnlyDictionary<string, string>>(ReadMetadata);
    }

    public string Path { get; }
    public LlamaVocabulary Vocabulary { get; }
    internal SafeLlamaModelHandle Handle => _handle;

    public int EmbeddingLength => LlamaNative.llama_model_n_embd(_handle);
    public int LayerCount => LlamaNative.llama_model_n_layer(_handle);
    public int TrainingContextLength => LlamaNative.llama_model_n_ctx_train(_handle);
    public long ParameterCount => (long)LlamaNative.llama_model_n_params(_handle);
    public long SizeInBytes => (long)LlamaNative.llama_model_size(_handle);
    public string Description => LlamaNative.ReadString((b, n) => LlamaNative.llama_model_desc(_handle, b, n));

    /// <summary>All metadata as llama.cpp renders it (arrays abbreviated).</summary>
    public IReadOnlyDictionary<string, string> Metadata => _metadata.Value;

    /// <summary>The model's own chat template (tokenizer.chat_template), or null when it has none.</summary>
    public string? ChatTemplateSource => LlamaNative.Utf8(LlamaNative.llama_model_chat_template(_handle, null));

    /// <summary>
    /// Loads a GGUF model. The file is checked first (it exists, it is GGUF, llama.cpp knows its architecture), so that
    /// bad input gives a one-line <see cref="LlamaException"/> naming the file, never a native abort.
    /// </summary>
    public static LlamaModel Load(string path, ModelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new ModelOptions();
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: model file not found", path);
        var gguf = GgufFile.Open(path);
        if (gguf.Architecture is null) throw new LlamaException($"{path}: GGUF has no general.architecture");

        LlamaBackend.EnsureInitialized();
        var p = LlamaNative.llama_model_default_params();
        p.n_gpu_layers = options.GpuLayers;
        p.vocab_only = options.VocabularyOnly ? (byte)1 : (byte)0;
        LlamaBackend.TakeError();
        IntPtr handle = LlamaNative.llama_model_load_from_file(path, p);
        if (handle == IntPtr.Zero)
        {
            string reason = LlamaBackend.TakeError() ?? "llama.cpp could not load it";
            throw new LlamaException($"{path}: cannot load model (architecture '{gguf.Architecture}'): {reason}");
        }
        return new LlamaModel(path, new SafeLlamaModelHandle(handle));
    }

    private Dictionary<string, string> ReadMetadata()
    {
        var result = new Dictionary<string, string>();
        int n = LlamaNative.llama_model_meta_count(_handle);
        for (int i = 0; i < n; i++)
        {
            string key = LlamaNative.ReadString((b, len) => LlamaNative.llama_model_meta_key_by_index(_handle, i, b, len));
            result[key] = LlamaNative.ReadString((b, len) => LlamaNative.llama_model_meta_val_str_by_index(_handle, i, b, len));
        }
        return result;
    }

    public void Dispose() => _handle.Dispose();
}
