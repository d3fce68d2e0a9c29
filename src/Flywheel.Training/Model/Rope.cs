using Flywheel.Training.Torch;
using static TorchSharp.torch;

namespace Flywheel.Training.Model;

/// <summary>
/// Rotary position embedding of [tokens, heads, head_dim] by per-token angles (cos and sin are [tokens, 1, head_dim/2]):
/// pair i is (2i, 2i+1) in llama.cpp's NORM layout, (i, i + head_dim/2) in its NEOX (rotate-half) layout.
/// </summary>
internal static class Rope
{
    internal static Tensor Apply(Tensor x, Tensor cos, Tensor sin, RopeLayout layout)
    {
        long n = x.shape[0], heads = x.shape[1], hd = x.shape[2];
        if (layout == RopeLayout.AdjacentPairs)
        {
            using var pairs = x.view(n, heads, hd / 2, 2);
            using var x0 = pairs.select(-1, 0);
            using var x1 = pairs.select(-1, 1);
            using var c = cos.expand(n, heads, hd / 2);
            using var s = sin.expand(n, heads, hd / 2);
            using var r0 = x0 * c - x1 * s;
            using var r1 = (x0 * s).Plus(x1 * c);
            using var stacked = stack([r0, r1], -1);
            return stacked.view(n, heads, hd);
        }
        else
        {
            using var x0 = x.narrow(-1, 0, hd / 2);
            using var x1 = x.narrow(-1, hd / 2, hd / 2);
            using var r0 = x0 * cos - x1 * sin;
            using var r1 = (x0 * sin).Plus(x1 * cos);
            return cat([r0, r1], -1);
        }
    }
}
