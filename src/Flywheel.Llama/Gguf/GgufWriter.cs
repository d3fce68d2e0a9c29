using System.Buffers.Binary;
using System.Text;

namespace Flywheel.Llama.Gguf;

/// <summary>
/// Builds a GGUF v3 file: metadata in the order it was set, then tensors, each aligned. The file appears complete or
/// not at all (written to a temporary name, then renamed).
/// </summary>
public sealed class GgufWriter
{
    private readonly Dictionary<string, GgufValue> _metadata = new();
    private readonly List<string> _order = new();
    private readonly List<(string Name, long[] Shape, GgmlType Type, byte[] Data)> _tensors = new();

    public int Alignment { get; init; } = GgufFile.DefaultAlignment;

    public GgufWriter Set(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        if (_metadata.TryAdd(key, value)) _order.Add(key);
        else _metadata[key] = value;
        return this;
    }

    /// <summary>Adds a tensor from f32 values, stored as F32, F16 or BF16. <paramref name="shape"/> is in ggml order.</summary>
    public GgufWriter AddTensor(string name, long[] shape, ReadOnlySpan<float> values, GgmlType storeAs = GgmlType.F32)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Aggregate(1L, (a, b) => a * b) != values.Length)
            throw new ArgumentException($"tensor '{name}': shape [{string.Join(", ", shape)}] does not hold {values.Length} values", nameof(values));
        return AddTensorBytes(name, shape, storeAs, TensorData.FromFloats(values, storeAs));
    }

    /// <summary>Adds a tensor from raw data already in <paramref name="type"/>'s encoding.</summary>
    public GgufWriter AddTensorBytes(string name, long[] shape, GgmlType type, byte[] data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        if (shape.Length is 0 or > 4 || shape.Any(d => d <= 0)) throw new ArgumentException($"tensor '{name}': bad shape", nameof(shape));
        if (!GgmlTypeTraits.IsKnown(type)) throw new ArgumentException($"tensor '{name}': unknown type {type}", nameof(type));
        var info = new GgufTensorInfo(name, shape, type, 0);
        if (shape[0] % GgmlTypeTraits.BlockSize(type) != 0 || info.ByteSize != data.Length)
            throw new ArgumentException($"tensor '{name}': {data.Length} bytes do not match {type} [{string.Join(", ", shape)}]", nameof(data));
        if (_tensors.Any(t => t.Name == name)) throw new ArgumentException($"tensor '{name}' was already added", nameof(name));
        _tensors.Add((name, (long[])shape.Clone(), type, data));
        return this;
    }

    /// <summary>Writes the file atomically.</summary>
    public void WriteTo(string path)
    {
        using var file = Files.PendingFile.Create(path);
        Write(file.Stream);
        file.Commit();
    }

    public void Write(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        var metadata = new List<(string, GgufValue)>();
        foreach (var key in _order) metadata.Add((key, _metadata[key]));
        if (Alignment != GgufFile.DefaultAlignment && !_metadata.ContainsKey("general.alignment"))
            metadata.Add(("general.alignment", GgufValue.Of((uint)Alignment)));

        w.Write(GgufFile.Magic);
        w.Write(3u);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)metadata.Count);
        foreach (var (key, value) in metadata)
        {
            WriteString(w, key);
            w.Write((uint)value.Type);
            WriteValue(w, value);
        }
        long offset = 0;
        foreach (var t in _tensors)
        {
            WriteString(w, t.Name);
            w.Write((uint)t.Shape.Length);
            foreach (long d in t.Shape) w.Write((ulong)d);
            w.Write((uint)t.Type);
            w.Write((ulong)offset);
            offset = GgufFile.Align(offset + t.Data.Length, Alignment);
        }
        w.Flush();
        Pad(stream, Alignment);
        foreach (var t in _tensors)
        {
            stream.Write(t.Data);
            Pad(stream, Alignment);
        }
    }

    private static void Pad(Stream stream, int alignment)
    {
        long pad = GgufFile.Align(stream.Position, alignment) - stream.Position;
        for (long i = 0; i < pad; i++) stream.WriteByte(0);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteValue(BinaryWriter w, GgufValue value)
    {
        if (value.Type != GgufValueType.Array)
        {
            WriteScalar(w, value.Value);
            return;
        }
        var array = value.AsArray();
        w.Write((uint)value.ElementType);
        w.Write((ulong)array.Length);
        foreach (var item in array) WriteScalar(w, item!);
    }

    private static void WriteScalar(BinaryWriter w, object v)
    {
        switch (v)
        {
            case byte x: w.Write(x); break;
            case sbyte x: w.Write(x); break;
            case ushort x: w.Write(x); break;
            case short x: w.Write(x); break;
            case uint x: w.Write(x); break;
            case int x: w.Write(x); break;
            case float x: w.Write(x); break;
            case bool x: w.Write(x ? (byte)1 : (byte)0); break;
            case string x: WriteString(w, x); break;
            case ulong x: w.Write(x); break;
            case long x: w.Write(x); break;
            case double x: w.Write(x); break;
            default: throw new ArgumentException($"cannot write a {v.GetType().Name} as a GGUF value");
        }
    }
}
