namespace Flywheel.Llama;

/// <summary>Where models run and train.</summary>
public enum ComputeDevice
{
    /// <summary>CUDA when its libraries were built in (-p:FlywheelCuda=true) and a GPU is present, else the CPU.</summary>
    Auto,
    Cpu,
    Cuda,
}
