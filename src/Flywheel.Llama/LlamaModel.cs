using Flywheel.Llama.Gguf;
using LLama.Exceptions;
using LLama.Native;

namespace Flywheel.Llama;

/// <summary>A GGUF model loaded by llama.cpp (through LLamaSharp): its metadata, vocabulary and chat template. Thread-safe for reading.</summary>
public sealed class LlamaModel : IDisposable
{
    private readonly SafeLlamaModelHandle _handle;
    private readonly Lazy<IReadOnlyDictionary<string, string>> _metadata;
    private readonly Lazy<KvCacheSize> _kvCache;

    private LlamaModel(string path, SafeLlamaModelHandle handle, GgufFile gguf)
    {
        Path = path;
        _handle = handle;
        Vocabulary = new LlamaVocabulary(this, gguf);
        _metadata = new Lazy<IReadOnlyDictionary<string, string>>(ReadMetadata);
        // From the file too, and only when asked: a vocabulary-only GGUF has no block count.
        _kvCache = new Lazy<KvCacheSize>(() => KvCacheSize.FromGguf(gguf));
        // llama.cpp reads no hyperparameters for a vocabulary-only load: the training context comes from the file.
        TrainingContextLength = gguf.Architecture is { } arch && gguf.Metadata.TryGetValue($"{arch}.context_length", out var ctx)
            ? (int)Math.Min(ctx.AsInt64(), int.MaxValue)
            : handle.ContextSize;
        // From the file as well: LLamaSharp's GetTemplate scans the native string for its end with a span of
        // int.MaxValue bytes, whose vector reads can run past the end of a mapped page (it crashed a test host).
        ChatTemplateSource = gguf.Metadata.GetValueOrDefault("tokenizer.chat_template")?.Value as string;
    }

    public string Path { get; }
    public LlamaVocabulary Vocabulary { get; }

    /// <summary>The LLamaSharp handle; contexts made from it keep it alive until they are disposed.</summary>
    internal SafeLlamaModelHandle Handle => _handle;

    public int EmbeddingLength => _handle.EmbeddingSize;
    public int LayerCount => _handle.LayerCount;
    public int TrainingContextLength { get; }

    /// <summary>The KV cache this model's contexts need per token (read from the GGUF, so a vocabulary-only load has it too).</summary>
    public KvCacheSize KvCache => _kvCache.Value;
    public long ParameterCount => (long)_handle.ParameterCount;
    public long SizeInBytes => (long)_handle.SizeInBytes;
    public string Description => _handle.Description;

    /// <summary>All metadata as llama.cpp renders it (arrays abbreviated).</summary>
    public IReadOnlyDictionary<string, string> Metadata => _metadata.Value;

    /// <summary>The model's own chat template (tokenizer.chat_template), or null when it has none.</summary>
    public string? ChatTemplateSource { get; }

    /// <summary>
    /// Loads a GGUF model. The file is checked first (it exists, it is GGUF, it names an architecture), so that bad input
    /// gives a one-line <see cref="LlamaException"/> naming the file, never a native abort.
    /// </summary>
    public static LlamaModel Load(string path, ModelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new ModelOptions();
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: model file not found", path);
        var gguf = GgufFile.Open(path);
        if (gguf.Architecture is null) throw new LlamaException($"{path}: GGUF has no general.architecture");

        LlamaBackend.EnsureInitialized();
        var p = LLamaModelParams.Default();
        p.n_gpu_layers = options.GpuLayers;
        p.vocab_only = options.VocabularyOnly;
        LlamaBackend.TakeError();
        try
        {
            return new LlamaModel(path, SafeLlamaModelHandle.LoadFromFile(path, p), gguf);
        }
        catch (LoadWeightsFailedException)
        {
            string reason = LlamaBackend.TakeError() ?? "llama.cpp could not load it";
            throw new LlamaException($"{path}: cannot load model (architecture '{gguf.Architecture}'): {reason}");
        }
    }

    private Dictionary<string, string> ReadMetadata()
    {
        var result = new Dictionary<string, string>();
        for (int i = 0; i < _handle.MetadataCount; i++)
        {
            if (_handle.MetadataKeyByIndex(i) is not { } key || _handle.MetadataValueByIndex(i) is not { } value) continue;
            result[Utf8(key.Span)] = Utf8(value.Span);
        }
        return result;
    }

    // LLamaSharp's metadata buffers include llama.cpp's terminating NUL.
    private static string Utf8(ReadOnlySpan<byte> bytes) => System.Text.Encoding.UTF8.GetString(bytes.TrimEnd((byte)0));

    /// <summary>Lets go of this reference to the weights; samplers and embedders made from them keep them until they are disposed.</summary>
    public void Dispose() => _handle.Dispose();
}
