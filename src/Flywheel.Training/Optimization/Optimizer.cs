using TorchSharp;
using TorchSharp.Modules;

namespace Flywheel.Training.Optimization;

/// <summary>
/// torch's AdamW over the trainable tensors in two groups, decoupled weight decay for matrices and none for norms and
/// biases; each step clips the global gradient norm, applies the scheduled learning rate and clears the gradients.
/// </summary>
internal sealed class Optimizer : IDisposable
{
    private readonly AdamW _adamW;
    private readonly List<Parameter> _parameters;
    private readonly double _maxNorm;

    internal Optimizer(IReadOnlyList<Parameter> parameters, TrainingOptions options)
    {
        _parameters = [.. parameters];
        if (_parameters.Count == 0) throw new ArgumentException("no parameter is trainable");
        var decay = _parameters.Where(p => p.dim() >= 2).ToList();
        var noDecay = _parameters.Where(p => p.dim() < 2).ToList();
        var groups = new List<AdamW.ParamGroup>();
        if (decay.Count > 0) groups.Add(new AdamW.ParamGroup(decay, options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay));
        if (noDecay.Count > 0) groups.Add(new AdamW.ParamGroup(noDecay, options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, 0));
        _adamW = torch.optim.AdamW(groups, options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
        // No clipping still reports the norm: an infinite threshold never scales.
        _maxNorm = options.MaxGradientNorm > 0 ? options.MaxGradientNorm : double.PositiveInfinity;
    }

    /// <summary>Updates done so far (the schedule's position).</summary>
    internal int Step { get; set; }

    /// <summary>Applies one update with <paramref name="learningRate"/>; returns the gradient norm before clipping.</summary>
    internal double Update(double learningRate)
    {
        double norm = torch.nn.utils.clip_grad_norm_(_parameters, _maxNorm);
        foreach (var group in _adamW.ParamGroups) group.LearningRate = learningRate;
        _adamW.step();
        _adamW.zero_grad();
        Step++;
        return norm;
    }

    internal void ClearGradients() => _adamW.zero_grad();

    internal byte[] SaveState()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true)) _adamW.save_state_dict(writer);
        return stream.ToArray();
    }

    internal void RestoreState(byte[] state)
    {
        using var reader = new BinaryReader(new MemoryStream(state));
        _adamW.load_state_dict(reader);
    }

    public void Dispose() => _adamW.Dispose();
}
