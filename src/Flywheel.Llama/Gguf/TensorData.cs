using System.Runtime.InteropServices;

namespace Flywheel.Llama.Gguf;

/// <summary>Conversions between f32 values and the F32, F16 and BF16 encodings of tensor data (little-endian).</summary>
internal static class TensorData
{
    internal static float[] ToFloats(ReadOnlySpan<byte> bytes, GgmlType type)
    {
        switch (type)
        {
            case GgmlType.F32:
                return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
            case GgmlType.F16:
            {
                var halves = MemoryMarshal.Cast<byte, Half>(bytes);
                var result = new float[halves.Length];
                for (int i = 0; i < halves.Length; i++) result[i] = (float)halves[i];
                return result;
            }
            case GgmlType.BF16:
            {
                var raw = MemoryMarshal.Cast<byte, ushort>(bytes);
                var result = new float[raw.Length];
                for (int i = 0; i < raw.Length; i++) result[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                return result;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "only F32, F16 and BF16 convert to floats");
        }
    }

    internal static byte[] FromFloats(ReadOnlySpan<float> values, GgmlType type)
    {
        switch (type)
        {
            case GgmlType.F32:
                return MemoryMarshal.AsBytes(values).ToArray();
            case GgmlType.F16:
            {
                var halves = new Half[values.Length];
                for (int i = 0; i < values.Length; i++) halves[i] = (Half)values[i];
                return MemoryMarshal.AsBytes(halves.AsSpan()).ToArray();
            }
            case GgmlType.BF16:
            {
                var raw = new ushort[values.Length];
                for (int i = 0; i < values.Length; i++) raw[i] = ToBFloat16(values[i]);
                return MemoryMarshal.AsBytes(raw.AsSpan()).ToArray();
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "only F32, F16 and BF16 are written from floats");
        }
    }

    // Round to nearest even, as ggml_fp32_to_bf16 does; NaN stays a quiet NaN.
    private static ushort ToBFloat16(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (ushort)((u >> 16) | 64);
        return (ushort)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
    }
}
