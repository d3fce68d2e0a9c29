using Flywheel.Llama;
using Flywheel.Llama.Gguf;
using Flywheel.Training.Backends;
using Flywheel.Training.Optimization;
using N = Flywheel.Training.Native.GgmlTensorNative;

namespace Flywheel.Training.Graph;

/// <summary>
/// A Llama model on a compute backend, ready to train: the source GGUF, its f32 master weights (plus any extra
/// tensors, such as a reward head), the graph builder and the optimizer. Every trainer runs its graphs through
/// <see cref="Run"/>, which adds the backward pass (into the persistent gradient accumulators) when training.
/// </summary>
internal sealed class ModelSession : IDisposable
{
    private readonly Dictionary<IntPtr, Parameter> _byTensor;

    private ModelSession(GgufFile source, LlamaArchitecture architecture, ComputeBackend backend, ParameterStore parameters, TrainingOptions options)
    {
        Source = source;
        Architecture = architecture;
        Backend = backend;
        Parameters = parameters;
        Graph = new LlamaGraph(architecture, parameters);
        Optimizer = new AdamW(backend, parameters, options);
        _byTensor = parameters.All.ToDictionary(p => p.Tensor);
    }

    internal GgufFile Source { get; }
    internal LlamaArchitecture Architecture { get; }
    internal ComputeBackend Backend { get; }
    internal ParameterStore Parameters { get; }
    internal LlamaGraph Graph { get; }
    internal AdamW Optimizer { get; }
    internal LlamaHyperparameters Hyperparameters => Architecture.Hyperparameters;

    /// <summary>Nodes one graph may have: the forward pass, its backward (about twice as many) and the loss.</summary>
    internal int MaxNodes => Backend.MaxGraphNodes;

    /// <summary>
    /// Loads <paramref name="modelPath"/> onto the device chosen by <paramref name="options"/>. Tensors train as
    /// <see cref="TrainingOptions.Layers"/> says; <paramref name="extra"/> gives tensors to add for a model of that shape
    /// (a reward head); <paramref name="headNames"/> name the tensors that count as the head (output.weight for SFT,
    /// the extra tensors for a reward model).
    /// </summary>
    internal static ModelSession Open(string modelPath, TrainingOptions options, bool withOutput,
        Func<LlamaHyperparameters, IReadOnlyList<ParameterSpec>> extra, IReadOnlySet<string> headNames)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        ArgumentNullException.ThrowIfNull(options);
        var file = GgufFile.Open(modelPath);
        var architecture = LlamaArchitecture.FromGguf(file);
        var hp = architecture.Hyperparameters;
        int? last = options.Layers.LastLayers;
        if (last > hp.Layers) throw new ArgumentException($"{options.Layers} asked for, but {modelPath} has {hp.Layers} layers");
        bool Trainable(string name)
        {
            if (last is null || headNames.Contains(name)) return true;
            if (name == LlamaGraph.OutputNorm) return last > 0;
            int layer = LlamaGraph.LayerOf(name);
            return layer >= 0 && layer >= hp.Layers - last;
        }
        var specs = LlamaGraph.ReadSpecs(file, architecture, withOutput, Trainable)
            .Concat(extra(hp).Select(e => e with { Trainable = Trainable(e.Name) }))
            .ToList();
        int maxNodes = 1024 + 512 * hp.Layers;
        var backend = new ComputeBackend(options.Device, options.Threads ?? LlamaBackend.DefaultThreadCount, maxNodes);
        try
        {
            return new ModelSession(file, architecture, backend, new ParameterStore(backend, specs), options);
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Builds a graph with <paramref name="build"/>, which returns the scalar loss when <paramref name="train"/> (its
    /// gradients are added to the accumulators) or any output otherwise, and computes it. The caller reads the
    /// outputs it marked and disposes the returned graph.
    /// </summary>
    internal GraphContext Run(string description, bool train, Func<GraphContext, IntPtr> build)
    {
        var g = new GraphContext(MaxNodes, grads: train, description);
        try
        {
            IntPtr result = build(g);
            g.Result = GraphContext.Output(result);
            if (train)
            {
                N.ggml_set_loss(result);
                g.Expand(result);
                AddBackward(g, result);
            }
            else
            {
                g.Expand(result);
            }
            Backend.Compute(g);
            return g;
        }
        catch
        {
            g.Dispose();
            throw;
        }
    }

    private unsafe void AddBackward(GraphContext g, IntPtr loss)
    {
        // Trainable tensors accumulate into their persistent gradient; the loss is seeded from the constant 1.
        int n = N.ggml_graph_n_nodes(g.Graph);
        var accumulators = new IntPtr[n];
        for (int i = 0; i < n; i++)
        {
            IntPtr node = N.ggml_graph_node(g.Graph, i);
            if (node == loss) accumulators[i] = Parameters.LossSeed;
            else if (_byTensor.TryGetValue(node, out var p) && p.Trainable) accumulators[i] = p.Gradient;
        }
        fixed (IntPtr* a = accumulators) N.ggml_build_backward_expand(g.Ctx, g.Graph, a);
    }

    public void Dispose()
    {
        Parameters.Dispose();
        Backend.Dispose();
    }
}
