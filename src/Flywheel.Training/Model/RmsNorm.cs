using Flywheel.Training.Torch;
using static TorchSharp.torch;

namespace Flywheel.Training.Model;

/// <summary>RMSNorm as llama.cpp computes it: x / sqrt(mean(x²) + ε) · w over the last dimension (TorchSharp has none).</summary>
internal static class RmsNorm
{
    internal static Tensor Apply(Tensor x, Tensor weight, float epsilon)
    {
        using var squares = x.Squared();
        using var meanSquare = squares.mean([-1L], keepdim: true);
        using var shifted = meanSquare.Plus(epsilon);
        using var inverse = shifted.rsqrt();
        using var normalized = x * inverse;
        return normalized * weight;
    }
}
