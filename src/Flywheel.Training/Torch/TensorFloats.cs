using static TorchSharp.torch;

namespace Flywheel.Training.Torch;

/// <summary>A float tensor's values on the host, in row-major order, whatever its device, layout or graph.</summary>
internal static class TensorFloats
{
    internal static float[] Read(Tensor t)
    {
        using var detached = t.detach();
        using var cpu = detached.cpu();
        using var contiguous = cpu.contiguous();
        return contiguous.data<float>().ToArray();
    }
}
