using Flywheel.Llama.Gguf;

namespace Flywheel.Llama.Tests;

/// <summary>Tiny models generated once per test run, in a temporary folder.</summary>
internal static class TestModels
{
    private static readonly string Root = TempRoot();

    private static string TempRoot()
    {
        string root = Directory.CreateTempSubdirectory("flywheel-llama-tests-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(root, recursive: true);
        return root;
    }
    private static readonly Lazy<string> TinyPath = new(() => Make("tiny.gguf", new TinyLlamaOptions { Seed = 1 }));

    /// <summary>A 2-layer, 64-wide model with GQA (4 heads, 2 KV heads), f32 weights, random init (seed 1).</summary>
    public static string Tiny => TinyPath.Value;

    private static readonly Lazy<LlamaModel> PeakedModelLazy = new(() =>
        LlamaModel.Load(Make("peaked.gguf", new TinyLlamaOptions { Seed = 7, InitStd = 0.25f })));

    /// <summary>
    /// A tiny model initialised with large weights, so its next-token distributions are peaked: greedy decoding has
    /// clear winners and sampled text is not uniform noise.
    /// </summary>
    public static LlamaModel PeakedModel => PeakedModelLazy.Value;

    private static readonly Lazy<LlamaModel> TinyModelLazy = new(() => LlamaModel.Load(Tiny));

    /// <summary>The tiny model, loaded once and shared by tests (models are thread-safe for reading).</summary>
    public static LlamaModel TinyModel => TinyModelLazy.Value;

    public static string Make(string name, TinyLlamaOptions options)
    {
        string path = Path.Combine(Root, name);
        TinyLlama.Create(path, options);
        return path;
    }

    public static string TempPath(string name) => Path.Combine(Root, $"{Guid.NewGuid():N}-{name}");

    public static string DataPath(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);
}
