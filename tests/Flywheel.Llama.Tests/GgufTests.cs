using System.Runtime.InteropServices;
using Flywheel.Llama.Gguf;

namespace Flywheel.Llama.Tests;

public class GgufTests
{
    [Fact]
    public void Every_metadata_type_and_float_tensor_type_round_trips()
    {
        string path = TestModels.TempPath("roundtrip.gguf");
        var values = new float[] { 1.5f, -2.25f, 0f, 3.75f, 1e-3f, -7f, 65504f, 0.1f };
        new GgufWriter { Alignment = 64 }
            .Set("u8", GgufValue.Create(GgufValueType.UInt8, GgufValueType.UInt8, (byte)200))
            .Set("i8", GgufValue.Create(GgufValueType.Int8, GgufValueType.Int8, (sbyte)-100))
            .Set("u16", GgufValue.Create(GgufValueType.UInt16, GgufValueType.UInt16, (ushort)60000))
            .Set("i16", GgufValue.Create(GgufValueType.Int16, GgufValueType.Int16, (short)-30000))
            .Set("u32", GgufValue.Of(4_000_000_000u))
            .Set("i32", GgufValue.Of(-2_000_000_000))
            .Set("f32", GgufValue.Of(3.5f))
            .Set("bool", GgufValue.Of(true))
            .Set("str", GgufValue.Of("héllo 🦙"))
            .Set("u64", GgufValue.Of(ulong.MaxValue))
            .Set("i64", GgufValue.Of(long.MinValue))
            .Set("f64", GgufValue.Of(Math.PI))
            .Set("arr.str", GgufValue.Of(["a", "", "ü"]))
            .Set("arr.i32", GgufValue.Of([1, -2, 3]))
            .Set("arr.empty", GgufValue.Of(Array.Empty<float>()))
            .AddTensor("t.f32", [4, 2], values, GgmlType.F32)
            .AddTensor("t.f16", [8], values, GgmlType.F16)
            .AddTensor("t.bf16", [2, 2, 2], values, GgmlType.BF16)
            .WriteTo(path);

        var f = GgufFile.Open(path);
        Assert.Equal(3u, f.Version);
        Assert.Equal(64, f.Alignment);
        Assert.Equal((byte)200, f.Metadata["u8"].Value);
        Assert.Equal((sbyte)-100, f.Metadata["i8"].Value);
        Assert.Equal((ushort)60000, f.Metadata["u16"].Value);
        Assert.Equal((short)-30000, f.Metadata["i16"].Value);
        Assert.Equal(4_000_000_000u, f.Metadata["u32"].Value);
        Assert.Equal(-2_000_000_000, f.Metadata["i32"].Value);
        Assert.Equal(3.5f, f.Metadata["f32"].Value);
        Assert.Equal(true, f.Metadata["bool"].Value);
        Assert.Equal("héllo 🦙", f.Metadata["str"].AsString());
        Assert.Equal(ulong.MaxValue, f.Metadata["u64"].Value);
        Assert.Equal(long.MinValue, f.Metadata["i64"].Value);
        Assert.Equal(Math.PI, f.Metadata["f64"].Value);
        Assert.Equal(new[] { "a", "", "ü" }, (string[])f.Metadata["arr.str"].Value);
        Assert.Equal(GgufValueType.Int32, f.Metadata["arr.i32"].ElementType);
        Assert.Equal(new[] { 1, -2, 3 }, (int[])f.Metadata["arr.i32"].Value);
        Assert.Empty((float[])f.Metadata["arr.empty"].Value);

        Assert.Equal(values, f.ReadTensorFloats(f.GetTensor("t.f32")));
        Assert.Equal(new long[] { 4, 2 }, f.GetTensor("t.f32").Shape);
        Assert.Equal(values.Select(v => (float)(Half)v), f.ReadTensorFloats(f.GetTensor("t.f16")));
        var bf16 = f.ReadTensorFloats(f.GetTensor("t.bf16"));
        for (int i = 0; i < values.Length; i++) Assert.Equal(values[i], bf16[i], Math.Abs(values[i]) / 128 + 1e-6f);
        Assert.All(f.Tensors, t => Assert.Equal(0, (f.DataOffset + t.Offset) % 64));
    }

    [Fact]
    public unsafe void The_type_table_matches_ggml()
    {
        IntPtr lib = NativeLibrary.Load(Path.Combine(LlamaBackend.NativeLibraryDirectory, "libggml-base.so"));
        var blockSize = (delegate* unmanaged<int, long>)NativeLibrary.GetExport(lib, "ggml_blck_size");
        var typeSize = (delegate* unmanaged<int, nuint>)NativeLibrary.GetExport(lib, "ggml_type_size");
        foreach (GgmlType t in Enum.GetValues<GgmlType>())
        {
            Assert.Equal(blockSize((int)t), GgmlTypeTraits.BlockSize(t));
            Assert.Equal((long)typeSize((int)t), GgmlTypeTraits.BlockBytes(t));
        }
    }

    [Fact]
    public void The_tiny_llama_reads_back_with_its_hyperparameters()
    {
        var hp = new LlamaHyperparameters { EmbeddingLength = 32, Layers = 3, Heads = 4, KvHeads = 1, FeedForwardLength = 48, TiedOutput = true };
        string path = TestModels.Make("hp.gguf", new TinyLlamaOptions { Hyperparameters = hp, Seed = 3, WeightType = GgmlType.F16 });
        var f = GgufFile.Open(path);
        Assert.Equal(hp, LlamaHyperparameters.FromGguf(f));
        Assert.Null(f.FindTensor("output.weight"));
        Assert.Equal(GgmlType.F16, f.GetTensor("blk.0.attn_q.weight").Type);
        Assert.Equal(GgmlType.F32, f.GetTensor("blk.0.attn_norm.weight").Type);
        using var model = LlamaModel.Load(path); // llama.cpp accepts GQA with 1 KV head, f16 weights and a tied output
        Assert.Equal(3, model.LayerCount);
        // Same seed, same bytes.
        string again = TestModels.Make("hp-again.gguf", new TinyLlamaOptions { Hyperparameters = hp, Seed = 3, WeightType = GgmlType.F16 });
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(again));
    }

    /// <summary>Seeded truncations and byte flips of a real model file: always a GgufFormatException, or a file that still parses.</summary>
    [Fact]
    public void Corrupt_and_truncated_files_fail_cleanly()
    {
        byte[] original = File.ReadAllBytes(TestModels.Make("fuzz.gguf", new TinyLlamaOptions
        {
            Hyperparameters = new LlamaHyperparameters { EmbeddingLength = 8, Layers = 1, Heads = 2, KvHeads = 1, FeedForwardLength = 8 },
        }));
        var random = new Random(1234);
        int clean = 0, rejected = 0;
        long headerEnd = GgufFile.Read(new MemoryStream(original), "fuzz").DataOffset;
        for (int i = 0; i < 3000; i++)
        {
            byte[] bytes;
            if (i % 3 == 0)
            {
                bytes = original.AsSpan(0, random.Next(0, original.Length)).ToArray();
            }
            else
            {
                bytes = (byte[])original.Clone();
                int flips = random.Next(1, 4);
                for (int f = 0; f < flips; f++)
                {
                    // Most flips land in the header, where the structure is.
                    int at = random.Next(0, (int)Math.Min(bytes.Length, random.Next(2) == 0 ? headerEnd : bytes.Length));
                    bytes[at] ^= (byte)(1 << random.Next(8));
                }
            }
            try
            {
                var file = GgufFile.Read(new MemoryStream(bytes), $"case-{i}");
                Assert.All(file.Tensors, t => Assert.True(file.DataOffset + t.Offset + t.ByteSize <= bytes.Length));
                clean++;
            }
            catch (GgufFormatException e)
            {
                Assert.Contains($"case-{i}: not a valid GGUF file at byte ", e.Message);
                Assert.DoesNotContain('\n', e.Message);
                rejected++;
            }
        }
        Assert.True(rejected > 1000, $"only {rejected} rejected");
        Assert.True(clean > 100, $"only {clean} parsed");
    }

    [Fact]
    public void A_huge_length_in_the_header_is_rejected_before_allocating()
    {
        var bytes = new byte[64];
        BitConverter.GetBytes(GgufFile.Magic).CopyTo(bytes, 0);
        BitConverter.GetBytes(3u).CopyTo(bytes, 4);
        BitConverter.GetBytes(0UL).CopyTo(bytes, 8);
        BitConverter.GetBytes(1UL).CopyTo(bytes, 16);
        BitConverter.GetBytes(ulong.MaxValue / 2).CopyTo(bytes, 24); // key length
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Read(new MemoryStream(bytes), "huge"));
        Assert.Equal(24, e.Offset);
    }
}
