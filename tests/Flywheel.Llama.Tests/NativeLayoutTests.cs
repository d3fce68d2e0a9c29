using System.Runtime.InteropServices;
using Flywheel.Llama.Native;

namespace Flywheel.Llama.Tests;

/// <summary>The P/Invoke structs must match this llama.cpp release byte for byte (sizes from ENGINE-FACTS.md).</summary>
public class NativeLayoutTests
{
    [Fact]
    public void Struct_sizes_match_the_release()
    {
        Assert.Equal(80, Marshal.SizeOf<LlamaModelParams>());
        Assert.Equal(160, Marshal.SizeOf<LlamaContextParams>());
        Assert.Equal(56, Marshal.SizeOf<LlamaBatch>());
        Assert.Equal(1, Marshal.SizeOf<LlamaSamplerChainParams>());
        Assert.Equal(16, Marshal.SizeOf<LlamaChatMessage>());
    }

    [Fact]
    public void Defaults_read_through_the_structs_are_the_documented_ones()
    {
        LlamaBackend.EnsureInitialized();
        var c = LlamaNative.llama_context_default_params();
        Assert.Equal(512u, c.n_ctx);
        Assert.Equal(2048u, c.n_batch);
        Assert.Equal(512u, c.n_ubatch);
        Assert.Equal(1u, c.n_seq_max);
        Assert.Equal(LlamaPoolingType.Unspecified, c.pooling_type);
        Assert.Equal(0, c.embeddings);
        Assert.Equal(1, c.offload_kqv);
        var m = LlamaNative.llama_model_default_params();
        Assert.Equal(0, m.vocab_only);
        Assert.Equal(IntPtr.Zero, m.devices);
    }

    [Fact]
    public void The_cpu_backend_is_registered()
    {
        Assert.Contains(LlamaBackend.Devices, d => !d.IsGpu && d.Name.Contains("CPU", StringComparison.OrdinalIgnoreCase));
        Assert.InRange(LlamaBackend.DefaultThreadCount, 1, Environment.ProcessorCount);
    }
}
