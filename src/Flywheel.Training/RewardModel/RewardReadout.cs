using Flywheel.Training.Data;
using Flywheel.Training.Model;
using Flywheel.Training.Torch;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Flywheel.Training.RewardModel;

/// <summary>
/// The reward of a sequence as the trainer and the scorer both compute it: r = w·h + b on the decoder's final-norm
/// hidden state of its last token (the reward token, when there is one).
/// </summary>
internal static class RewardReadout
{
    /// <summary>The rewards of a packed batch's sequences: [sequences], in the graph when gradients are on.</summary>
    internal static Tensor Rewards(DecoderModel model, Tensor weight, Tensor bias, PackedBatch batch)
    {
        using var hidden = model.Hidden(batch);
        using var last = tensor(Enumerable.Range(0, batch.Count).Select(s => (long)batch.Last(s)).ToArray(), device: model.Device);
        using var rows = hidden.index_select(0, last);
        using var r = F.linear(rows, weight, bias);
        return r.squeeze(-1);
    }

    /// <summary>The rewards of <paramref name="sequences"/>, packed by <paramref name="tokenBudget"/> real tokens per forward pass.</summary>
    internal static float[] Score(DecoderModel model, Tensor weight, Tensor bias, IReadOnlyList<int[]> sequences, int tokenBudget, CancellationToken cancellationToken)
    {
        var result = new float[sequences.Count];
        using var _ = no_grad();
        foreach (var batch in BatchPlanner.Sorted(sequences.Select(s => s.Length).ToArray(), tokenBudget))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            using var rewards = Rewards(model, weight, bias, new PackedBatch([.. batch.Select(i => sequences[i])]));
            float[] r = TensorFloats.Read(rewards);
            for (int k = 0; k < batch.Length; k++) result[batch[k]] = r[k];
        }
        return result;
    }
}
