namespace Flywheel.Llama.Gguf;

/// <summary>Options for <see cref="TinyLlama.Create"/>.</summary>
public sealed record TinyLlamaOptions
{
    public LlamaHyperparameters Hyperparameters { get; init; } = new();
    public int Seed { get; init; }

    /// <summary>Standard deviation of the normal initialisation of weight matrices (norms start at 1).</summary>
    public float InitStd { get; init; } = 0.02f;

    public GgmlType WeightType { get; init; } = GgmlType.F32;
    public string Name { get; init; } = "flywheel-tiny-llama";

    /// <summary>
    /// A GGUF whose tokenizer (every tokenizer.* key, e.g. llama.cpp's ggml-vocab-llama-bpe.gguf) the model takes
    /// instead of Flywheel's byte-level vocabulary; the vocabulary size follows it. Null: the byte-level vocabulary.
    /// </summary>
    public string? VocabularyFrom { get; init; }
}

/// <summary>
/// Makes small Llama GGUFs with Flywheel's byte-level vocabulary, seeded and reproducible, that llama.cpp loads:
/// the models the tests and the demo start from.
/// </summary>
public static class TinyLlama
{
    /// <summary>Writes a randomly initialised model to <paramref name="path"/>.</summary>
    public static void Create(string path, TinyLlamaOptions? options = null)
    {
        options ??= new TinyLlamaOptions();
        var hp = options.Hyperparameters;
        GgufFile? vocabulary = options.VocabularyFrom is { } v ? GgufFile.Open(v) : null;
        if (vocabulary is not null)
        {
            var tokens = vocabulary.Metadata.TryGetValue("tokenizer.ggml.tokens", out var t) && t.Value is Array a
                ? a.Length : throw new LlamaException($"{vocabulary.Path}: no tokenizer.ggml.tokens");
            hp = hp with { VocabSize = tokens };
        }
        var random = new Random(options.Seed);
        var weights = new Dictionary<string, float[]>();
        foreach (var (name, shape) in hp.TensorShapes())
        {
            var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
            // Norms start at 1; matrices and biases are drawn.
            if (shape.Length == 1 && !name.EndsWith(".bias", StringComparison.Ordinal)) Array.Fill(values, 1f);
            else for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextGaussian() * options.InitStd);
            weights[name] = values;
        }
        Write(path, hp, weights, options.Name, options.WeightType,
            vocabulary?.Metadata.Where(m => m.Key.StartsWith("tokenizer.", StringComparison.Ordinal)));
    }

    /// <summary>Writes a model from given weights (by GGUF tensor name), e.g. after training.</summary>
    public static void Write(string path, LlamaHyperparameters hyperparameters, IReadOnlyDictionary<string, float[]> weights,
        string name, GgmlType weightType = GgmlType.F32, IEnumerable<KeyValuePair<string, GgufValue>>? extraMetadata = null)
    {
        ArgumentNullException.ThrowIfNull(hyperparameters);
        ArgumentNullException.ThrowIfNull(weights);
        var writer = new GgufWriter();
        hyperparameters.AddTo(writer, name);
        writer.Set("general.file_type", GgufValue.Of(weightType == GgmlType.F32 ? 0u : weightType == GgmlType.F16 ? 1u : 32u));
        var extra = (extraMetadata ?? []).ToList();
        // A model given its own tokenizer does not get the byte-level one.
        if (!extra.Any(m => m.Key == "tokenizer.ggml.model")) ByteLevelVocabulary.AddTo(writer);
        foreach (var (key, value) in extra) writer.Set(key, value);
        foreach (var (tensor, shape) in hyperparameters.TensorShapes())
        {
            if (!weights.TryGetValue(tensor, out var values)) throw new ArgumentException($"weight '{tensor}' is missing", nameof(weights));
            // Norms and biases stay f32, as llama.cpp's converter keeps them.
            writer.AddTensor(tensor, shape, values, shape.Length == 1 ? GgmlType.F32 : weightType);
        }
        writer.WriteTo(path);
    }

    private static double NextGaussian(this Random random)
    {
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
