using Flywheel.Training.Torch;
using static TorchSharp.torch;

namespace Flywheel.Training.Sft;

/// <summary>
/// Next-token cross-entropy of hidden-state rows against target token ids, through the output projection a chunk of
/// rows at a time, so that no more than one chunk's logits (rows × vocabulary) ever exist: the gradients of the rows
/// and of the projection are computed per chunk (softmax − one-hot) and handed to autograd through a surrogate whose
/// gradient is exactly theirs. Labels stay token ids: no one-hot row is ever built.
/// </summary>
internal static class ChunkedCrossEntropy
{
    /// <summary>Logits allowed at once (64 MB of f32): 130 rows of Llama 3's 128,256-token vocabulary.</summary>
    internal const long LogitBudget = 1L << 24;

    /// <summary>
    /// The summed cross-entropy of <paramref name="hidden"/> [rows, d] predicting <paramref name="targets"/> through
    /// <paramref name="weight"/> [vocabulary, d]; with <paramref name="training"/>, a tensor whose backward adds
    /// <paramref name="scale"/> × the loss's gradient to <paramref name="hidden"/>'s graph and to the weight.
    /// </summary>
    internal static (Tensor? Objective, double Loss) Compute(Tensor hidden, Tensor weight, long[] targets, double scale, bool training)
    {
        long rows = hidden.shape[0], vocabulary = weight.shape[0];
        if (targets.Length != rows) throw new ArgumentException($"{targets.Length} targets for {rows} rows");
        long chunk = Math.Max(1, LogitBudget / vocabulary);
        bool weightTrains = training && weight.requires_grad;
        double total = 0;
        Tensor? gradHidden = null, gradWeight = null;
        using (no_grad())
        {
            using var h = hidden.detach();
            using var w = weight.detach();
            using var allTargets = tensor(targets, device: hidden.device);
            if (training) gradHidden = zeros_like(h);
            if (weightTrains) gradWeight = zeros_like(w);
            for (long start = 0; start < rows; start += chunk)
            {
                using var scope = NewDisposeScope();
                long n = Math.Min(chunk, rows - start);
                var hc = h.narrow(0, start, n);
                var target = allTargets.narrow(0, start, n).unsqueeze(1);
                var logits = hc.matmul(w.t());
                var logSumExp = logits.logsumexp(1, keepdim: true);
                total += (logSumExp - logits.gather(1, target)).sum().item<float>();
                if (!training) continue;
                // d(loss)/d(logits) = softmax − one-hot, made in place in the logits' memory.
                var p = logits.sub_(logSumExp).exp_();
                p.scatter_add_(1, target, HeldScalars.Filled([n, 1], -1, p.dtype, p.device));
                p.TimesInPlace(scale);
                gradHidden!.narrow(0, start, n).copy_(p.matmul(w));
                gradWeight?.PlusInPlace(p.t().matmul(hc));
            }
        }
        if (!training) return (null, total);
        using var gh = gradHidden!;
        var objective = (hidden * gh).sum();
        if (gradWeight is not null)
        {
            using var gw = gradWeight;
            using var weightTerm = (weight * gw).sum();
            var both = objective.Plus(weightTerm);
            objective.Dispose();
            objective = both;
        }
        return (objective, total * scale);
    }
}
