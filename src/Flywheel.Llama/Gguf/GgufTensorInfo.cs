namespace Flywheel.Llama.Gguf;

/// <summary>
/// A tensor's description in a GGUF file. <paramref name="Shape"/> is in ggml order (the fastest-varying dimension
/// first); <paramref name="Offset"/> is relative to the start of the data section.
/// </summary>
public sealed record GgufTensorInfo(string Name, long[] Shape, GgmlType Type, long Offset)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    public long ByteSize => ElementCount / GgmlTypeTraits.BlockSize(Type) * GgmlTypeTraits.BlockBytes(Type);

    public override string ToString() => $"{Name} {Type} [{string.Join(", ", Shape)}]";
}
