using static TorchSharp.torch;

namespace Flywheel.Training.Model;

/// <summary>RMSNorm as llama.cpp computes it: x / sqrt(mean(x²) + ε) · w over the last dimension (TorchSharp has none).</summary>
internal static class RmsNorm
{
    internal static Tensor Apply(Tensor x, Tensor weight, float epsilon)
    {
        using var meanSquare = x.square().mean([-1L], keepdim: true);
        using var inverse = (meanSquare + epsilon).rsqrt();
        using var normalized = x * inverse;
        return normalized * weight;
    }
}
