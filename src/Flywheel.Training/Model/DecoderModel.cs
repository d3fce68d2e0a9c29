using Flywheel.Llama.Gguf;
using Flywheel.Training.Data;
using Flywheel.Training.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Flywheel.Training.Model;

/// <summary>
/// A Llama-family decoder in TorchSharp, computing what llama.cpp computes for the llama and qwen2 architectures:
/// token embeddings, per block RMSNorm → attention (q/k/v biases for qwen2, RoPE in the GGUF's layout with
/// rope_freqs, grouped-query heads) → residual → RMSNorm → SwiGLU → residual; then the final RMSNorm. Weights are f32
/// master copies keyed by their GGUF names; LoRA adapters ride on the projections they target.
/// </summary>
internal sealed class DecoderModel : IDisposable
{
    private static readonly Dictionary<string, LoraTarget> Projections = new()
    {
        ["attn_q"] = LoraTarget.Q, ["attn_k"] = LoraTarget.K, ["attn_v"] = LoraTarget.V, ["attn_output"] = LoraTarget.O,
        ["ffn_gate"] = LoraTarget.Gate, ["ffn_up"] = LoraTarget.Up, ["ffn_down"] = LoraTarget.Down,
    };

    private readonly Dictionary<string, Parameter> _weights = new();
    private readonly Dictionary<string, LoraAdapter> _adapters = new();
    private readonly Tensor _inverseFrequencies;
    private readonly Generator _dropoutGenerator;

    /// <summary>
    /// Reads the decoder's tensors from <paramref name="file"/> (output.weight only when <paramref name="withOutput"/>;
    /// the token embeddings serve as the output when there is none) onto <paramref name="device"/>.
    /// </summary>
    internal DecoderModel(GgufFile file, DecoderConfig config, Device device, bool withOutput, Func<string, bool> trainable, LoraOptions? lora, ulong seed)
    {
        Config = config;
        Device = device;
        LoraOptions = lora;
        var hp = config.Hyperparameters;
        try
        {
            foreach (var (name, shape) in hp.TensorShapes())
            {
                if (name == DecoderConfig.Output && !withOutput) continue;
                _weights[name] = ToParameter(file.ReadTensorFloats(file.GetTensor(name)), shape, trainable(name), device);
            }
            var frequencies = Enumerable.Range(0, hp.HeadDim / 2)
                .Select(i => config.RopeFreqScale * Math.Pow(hp.RopeFreqBase, -2.0 * i / hp.HeadDim)).ToArray();
            if (config.HasRopeFreqs)
            {
                // llama.cpp divides each pair's angle by its rope_freqs factor (Llama 3's long-context scaling).
                float[] factors = file.ReadTensorFloats(file.GetTensor(DecoderConfig.RopeFreqs));
                for (int i = 0; i < frequencies.Length; i++) frequencies[i] /= factors[i];
            }
            _inverseFrequencies = tensor(frequencies, ScalarType.Float64, device);
            _dropoutGenerator = new Generator(seed, device);
            if (lora is not null)
            {
                var init = new Generator(seed ^ 0x4C6F5241UL, CPU);
                foreach (var name in _weights.Keys.Where(n => Targeted(n, lora)).ToList())
                    _adapters[name] = new LoraAdapter(_weights[name], lora, init, device);
                init.Dispose();
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    internal DecoderConfig Config { get; }

    internal Device Device { get; }

    internal LoraOptions? LoraOptions { get; }

    /// <summary>Every weight by GGUF name (frozen ones included).</summary>
    internal IReadOnlyDictionary<string, Parameter> Weights => _weights;

    /// <summary>The trainable tensors with the names checkpoints give them: GGUF names, and "NAME.lora_a/b" for adapters.</summary>
    internal IEnumerable<(string Name, Parameter Parameter)> TrainableParameters =>
        _weights.Where(w => w.Value.requires_grad).Select(w => (w.Key, w.Value))
            .Concat(_adapters.SelectMany(a => new[] { (a.Key + ".lora_a", a.Value.A), (a.Key + ".lora_b", a.Value.B) }));

    /// <summary>GGUF names of the weights training changes: trained ones, and those LoRA adapts.</summary>
    internal IEnumerable<string> ChangedWeights =>
        _weights.Where(w => w.Value.requires_grad).Select(w => w.Key).Concat(_adapters.Keys);

    /// <summary>The matrix that maps hidden states to logits: output.weight, or the tied token embeddings.</summary>
    internal Tensor OutputWeight => _weights.TryGetValue(DecoderConfig.Output, out var w) ? w : _weights[DecoderConfig.TokenEmbedding];

    /// <summary>Whether dropout (LoRA's) is active.</summary>
    internal bool Training { get; set; }

    /// <summary>A weight as llama.cpp will see it after export: with its LoRA update merged in, as f32 in GGUF order.</summary>
    internal float[] Export(string name)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Tensor w = _weights[name];
        if (_adapters.TryGetValue(name, out var adapter)) w = w.Plus(adapter.Delta());
        return TensorFloats.Read(w);
    }

    /// <summary>The final-norm hidden states of every token of <paramref name="batch"/>: [tokens, n_embd].</summary>
    internal Tensor Hidden(PackedBatch batch)
    {
        var hp = Config.Hyperparameters;
        int n = batch.Tokens.Length, d = hp.EmbeddingLength, hd = hp.HeadDim, heads = hp.Heads, kvHeads = hp.KvHeads;
        if (batch.RowLength > hp.ContextLength)
            throw new ArgumentException($"sequences of {batch.RowLength} tokens exceed the model's context length {hp.ContextLength}");

        using var tokens = tensor(batch.Tokens, device: Device);
        using var positions = tensor(batch.Positions, device: Device);
        using var angles = positions.to(ScalarType.Float64).unsqueeze(1) * _inverseFrequencies.unsqueeze(0);
        using var cos = angles.cos().to(ScalarType.Float32).unsqueeze(1);
        using var sin = angles.sin().to(ScalarType.Float32).unsqueeze(1);
        using var attention = AttentionLayout.Create(batch, Device);

        var x = _weights[DecoderConfig.TokenEmbedding].index_select(0, tokens);
        for (int il = 0; il < hp.Layers; il++)
        {
            string blk = $"blk.{il}.";
            using var h = RmsNorm.Apply(x, _weights[blk + "attn_norm.weight"], hp.RmsNormEpsilon);
            using var q0 = Project(blk + "attn_q", h).view(n, heads, hd);
            using var k0 = Project(blk + "attn_k", h).view(n, kvHeads, hd);
            using var v = Project(blk + "attn_v", h).view(n, kvHeads, hd);
            using var q = Rope.Apply(q0, cos, sin, Config.Rope);
            using var k = Rope.Apply(k0, cos, sin, Config.Rope);
            using var o = attention.Attend(q, k, v, Config.AttentionScale);
            using var projected = Project(blk + "attn_output", o.view(n, d));
            var afterAttention = x.Plus(projected);
            x.Dispose();
            x = afterAttention;

            using var h2 = RmsNorm.Apply(x, _weights[blk + "ffn_norm.weight"], hp.RmsNormEpsilon);
            using var gate = Project(blk + "ffn_gate", h2);
            using var up = Project(blk + "ffn_up", h2);
            using var act = F.silu(gate) * up;
            using var down = Project(blk + "ffn_down", act);
            var afterMlp = x.Plus(down);
            x.Dispose();
            x = afterMlp;
        }
        var result = RmsNorm.Apply(x, _weights[DecoderConfig.OutputNorm], hp.RmsNormEpsilon);
        x.Dispose();
        return result;
    }

    // y = x·Wᵀ (+ b) (+ scale · dropout(x)·Aᵀ·Bᵀ).
    private Tensor Project(string name, Tensor x)
    {
        var y = F.linear(x, _weights[name + ".weight"], _weights.GetValueOrDefault(name + ".bias"));
        if (!_adapters.TryGetValue(name + ".weight", out var adapter)) return y;
        using var update = adapter.Apply(x, Training ? _dropoutGenerator : null);
        var sum = y.Plus(update);
        y.Dispose();
        return sum;
    }

    /// <summary>The dropout generator's state, kept by checkpoints so that a resumed run draws the same masks.</summary>
    internal Tensor DropoutState => _dropoutGenerator.get_state();

    internal void RestoreDropoutState(Tensor state) => _dropoutGenerator.set_state(state);

    private static bool Targeted(string name, LoraOptions lora)
    {
        if (DecoderConfig.LayerOf(name) < 0 || !name.EndsWith(".weight", StringComparison.Ordinal)) return false;
        string module = name.Split('.')[2];
        return Projections.TryGetValue(module, out var target) && lora.Targets.Contains(target);
    }

    // GGUF shapes list the fastest dimension first: [in, out] is torch's [out, in].
    internal static Parameter ToParameter(float[] values, long[] ggmlShape, bool trainable, Device device)
    {
        using var t = tensor(values, [.. ggmlShape.Reverse()], ScalarType.Float32);
        using var onDevice = t.to(device);
        return new Parameter(onDevice, requires_grad: trainable);
    }

    public void Dispose()
    {
        foreach (var w in _weights.Values) w.Dispose();
        foreach (var a in _adapters.Values) a.Dispose();
        _inverseFrequencies?.Dispose();
        _dropoutGenerator?.Dispose();
    }
}
