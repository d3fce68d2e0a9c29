using Flywheel.Training.Torch;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Flywheel.Training.Model;

/// <summary>
/// One LoRA update of a frozen [out, in] projection: A [rank, in] drawn uniform(±1/√in) as PEFT's Kaiming init
/// gives, B [out, rank] zero, applied as (alpha / rank) · B·A·dropout(x).
/// </summary>
internal sealed class LoraAdapter : IDisposable
{
    private readonly double _scale;
    private readonly double _dropout;

    internal LoraAdapter(Tensor weight, LoraOptions options, Generator init, Device device)
    {
        long outFeatures = weight.shape[0], inFeatures = weight.shape[1];
        double bound = 1 / Math.Sqrt(inFeatures);
        using var draw = rand([options.Rank, inFeatures], ScalarType.Float32, generator: init);
        using var scaled = draw.Times(2 * bound);
        using var a = scaled.Plus(-bound);
        using var onDevice = a.to(device);
        A = new Parameter(onDevice, requires_grad: true);
        B = new Parameter(zeros([outFeatures, options.Rank], ScalarType.Float32, device), requires_grad: true);
        _scale = options.Scale;
        _dropout = options.Dropout;
    }

    internal Parameter A { get; }

    internal Parameter B { get; }

    /// <summary>The update of x [.., in]: [.., out]; dropout drawn from <paramref name="dropout"/> when training.</summary>
    internal Tensor Apply(Tensor x, Generator? dropout)
    {
        using var input = dropout is not null && _dropout > 0 ? Dropout(x, dropout) : x.alias();
        using var low = F.linear(input, A);
        using var high = F.linear(low, B);
        return high.Times(_scale);
    }

    /// <summary>(alpha / rank) · B·A, to merge into the base weight.</summary>
    internal Tensor Delta()
    {
        using var product = B.matmul(A);
        return product.Times(_scale);
    }

    // Dropout from our own generator (F.dropout draws from torch's global one), so a checkpoint can restore it.
    private Tensor Dropout(Tensor x, Generator generator)
    {
        using var draw = rand(x.shape, x.dtype, x.device, generator: generator);
        using var keep = draw.AtLeast(_dropout);
        using var kept = x * keep;
        return kept.DividedBy(1 - _dropout);
    }

    public void Dispose()
    {
        A.Dispose();
        B.Dispose();
    }
}
