using Flywheel.Llama.Gguf;

namespace Flywheel.Training.Tests;

/// <summary>Tiny Llama GGUFs made per test run in a temporary folder.</summary>
internal static class TinyModels
{
    private static readonly string Root = Directory.CreateTempSubdirectory("flywheel-training-tests-").FullName;

    /// <summary>32 wide, 2 layers, GQA (4 heads, 2 KV heads), a 64-wide feed-forward: fast enough to train in a test.</summary>
    public static LlamaHyperparameters Small { get; } = new()
    {
        EmbeddingLength = 32, Layers = 2, Heads = 4, KvHeads = 2, FeedForwardLength = 64, ContextLength = 256,
    };

    /// <summary>llama.cpp's Llama 3 vocabulary file (128,256 tokens, BPE, its chat template).</summary>
    public static string Llama3Vocabulary => Path.Combine(AppContext.BaseDirectory, "TestData", "vocab", "ggml-vocab-llama-bpe.gguf");

    public static string Create(string name, LlamaHyperparameters hyperparameters, int seed, float initStd = 0.02f, GgmlType weightType = GgmlType.F32)
    {
        string path = TempPath(name);
        TinyLlama.Create(path, new TinyLlamaOptions { Hyperparameters = hyperparameters, Seed = seed, InitStd = initStd, WeightType = weightType });
        return path;
    }

    /// <summary>A random-weight model of this shape with the tokenizer (and vocabulary size) of <paramref name="vocabulary"/>.</summary>
    public static string CreateWithVocabulary(string name, LlamaHyperparameters hyperparameters, int seed, string vocabulary, float initStd = 0.02f)
    {
        string path = TempPath(name);
        TinyLlama.Create(path, new TinyLlamaOptions { Hyperparameters = hyperparameters, Seed = seed, InitStd = initStd, VocabularyFrom = vocabulary });
        return path;
    }

    /// <summary>A copy of <paramref name="path"/> with a Llama 3 style rope_freqs.weight (frequency divisors, 1 for high frequencies, larger for low ones).</summary>
    public static string WithRopeFreqs(string path)
    {
        var source = GgufFile.Open(path);
        var hp = LlamaHyperparameters.FromGguf(source);
        var writer = new GgufWriter();
        foreach (var (key, value) in source.Metadata) writer.Set(key, value);
        foreach (var t in source.Tensors) writer.AddTensorBytes(t.Name, t.Shape, t.Type, source.ReadTensorBytes(t));
        var freqs = Enumerable.Range(0, hp.HeadDim / 2).Select(i => 1f + 7f * i / (hp.HeadDim / 2 - 1)).ToArray();
        writer.AddTensor("rope_freqs.weight", [hp.HeadDim / 2], freqs);
        string result = TempPath("rope-freqs.gguf");
        writer.WriteTo(result);
        return result;
    }

    public static string TempPath(string name) => Path.Combine(Root, $"{Guid.NewGuid():N}-{name}");
}
