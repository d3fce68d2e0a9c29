using System.Globalization;
using System.Text.RegularExpressions;
using Flywheel.Llama.Gguf;
using Flywheel.Llama.Sampling;
using LLama.Native;
using Xunit.Abstractions;

namespace Flywheel.Llama.Tests;

public partial class KvCacheSizeTests(ITestOutputHelper output)
{
    public static TheoryData<string, int, int, int, int, int, int> Shapes => new()
    {
        // architecture, layers, width, heads, KV heads, sequences, context per sequence
        { "llama", 2, 64, 4, 2, 4, 512 },   // grouped-query attention
        { "llama", 6, 128, 4, 4, 3, 300 },  // multi-head, a context llama.cpp pads to 512
        { "qwen2", 3, 128, 8, 2, 8, 700 },  // qwen2, head dimension 16
        { "llama", 1, 256, 4, 1, 16, 1024 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void The_estimate_matches_the_KV_buffer_llama_cpp_allocates(string architecture, int layers, int width, int heads, int kvHeads, int sequences, int context)
    {
        var hp = new LlamaHyperparameters
        {
            Architecture = architecture, Layers = layers, EmbeddingLength = width, Heads = heads, KvHeads = kvHeads, ContextLength = 4096,
        };
        string path = TestModels.Make($"kv-{architecture}-{layers}-{width}-{heads}-{kvHeads}.gguf", new TinyLlamaOptions { Hyperparameters = hp });
        using var model = LlamaModel.Load(path);
        long estimate = model.KvCache.Bytes(sequences, context);

        double allocatedMiB = 0;
        int thread = Environment.CurrentManagedThreadId;
        LlamaBackend.LineListener = (_, line) =>
        {
            // llama.cpp logs the buffer on the thread that creates the context, once per backend buffer.
            if (Environment.CurrentManagedThreadId == thread && KvBufferLine().Match(line) is { Success: true } m)
                allocatedMiB += double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        };
        try
        {
            using var sampler = new BatchedSampler(model, new BatchedSamplerOptions { Sequences = sequences, ContextPerSequence = context, BatchTokens = 512, Threads = 1 });
        }
        finally
        {
            LlamaBackend.LineListener = null;
        }

        double estimateMiB = estimate / (1024.0 * 1024);
        output.WriteLine($"{architecture} {layers} layers, {heads}/{kvHeads} heads, width {width}; {sequences} × {context} tokens: estimate {estimateMiB:F2} MiB, llama.cpp {allocatedMiB:F2} MiB");
        Assert.True(allocatedMiB > 0, "llama.cpp logged no KV buffer size");
        Assert.InRange(estimateMiB / allocatedMiB, 0.9, 1.1);
    }

    [Fact]
    public void A_vocabulary_only_load_reads_the_same_size_from_the_file()
    {
        using var vocabulary = LlamaModel.Load(TestModels.Tiny, new ModelOptions { VocabularyOnly = true });
        Assert.Equal(TestModels.TinyModel.KvCache, vocabulary.KvCache);
        Assert.Equal(2L * 2 * (16 + 16) * KvCacheSize.ElementBytes, vocabulary.KvCache.BytesPerToken); // 2 layers × 2 KV heads × (k + v) of 16
        Assert.Equal(512, TestModels.TinyModel.TrainingContextLength);
        Assert.Equal(512, vocabulary.TrainingContextLength);
    }

    [Fact]
    public void Llama_3_2_1B_sized_to_its_training_context_would_need_256_GiB_for_64_sequences()
    {
        var kv = new KvCacheSize(Layers: 16, KvHeads: 8, KeyLength: 64, ValueLength: 64);
        Assert.Equal(32 * 1024, kv.BytesPerToken);
        Assert.Equal(256L << 30, kv.Bytes(64, 131_072));
        Assert.Equal(64L * 4352 * 32 * 1024, kv.Bytes(64, 4096 + 256)); // a 4K prompt and 256 new tokens: 8.5 GiB
    }

    [Theory]
    [InlineData(1, 256)]
    [InlineData(256, 256)]
    [InlineData(257, 512)]
    [InlineData(4352, 4352)]
    public void Each_sequence_is_padded_to_a_multiple_of_256(int asked, int padded) => Assert.Equal(padded, KvCacheSize.PaddedContext(asked));

    [GeneratedRegex(@"KV buffer size =\s*([0-9.]+) MiB")]
    private static partial Regex KvBufferLine();
}
