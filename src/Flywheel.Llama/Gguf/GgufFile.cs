using System.Buffers.Binary;
using System.Text;

namespace Flywheel.Llama.Gguf;

/// <summary>
/// A GGUF (v2/v3) file's header: metadata and tensor descriptions, read eagerly; tensor data read on demand.
/// Every length read from the file is checked against the file's size before anything is allocated, so a corrupt or
/// truncated file gives a <see cref="GgufFormatException"/>, never a huge allocation or a hang.
/// </summary>
public sealed class GgufFile
{
    public const uint Magic = 0x46554747; // "GGUF" little-endian
    public const int DefaultAlignment = 32;
    private const int MaxDimensions = 4;

    private readonly Dictionary<string, GgufTensorInfo> _tensorsByName;

    private GgufFile(string path, uint version, IReadOnlyDictionary<string, GgufValue> metadata, IReadOnlyList<GgufTensorInfo> tensors,
        int alignment, long dataOffset)
    {
        Path = path;
        Version = version;
        Metadata = metadata;
        Tensors = tensors;
        Alignment = alignment;
        DataOffset = dataOffset;
        _tensorsByName = tensors.ToDictionary(t => t.Name);
    }

    public string Path { get; }
    public uint Version { get; }
    public IReadOnlyDictionary<string, GgufValue> Metadata { get; }
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }
    public int Alignment { get; }

    /// <summary>Absolute file offset of the tensor data section.</summary>
    public long DataOffset { get; }

    public string? Architecture => Metadata.TryGetValue("general.architecture", out var v) && v.Value is string s ? s : null;

    public GgufTensorInfo? FindTensor(string name) => _tensorsByName.GetValueOrDefault(name);

    public GgufTensorInfo GetTensor(string name) =>
        FindTensor(name) ?? throw new LlamaException($"{Path}: no tensor named '{name}'");

    /// <summary>Reads a GGUF file's header.</summary>
    public static GgufFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(stream, path);
    }

    /// <summary>Reads a GGUF header from a seekable stream; <paramref name="name"/> names it in error messages.</summary>
    public static GgufFile Read(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek) throw new ArgumentException("the stream must be seekable", nameof(stream));
        var r = new Reader(stream, name);
        if (r.Length < 4 || r.U32() != Magic)
            throw new GgufFormatException(name, 0, "the file does not start with the GGUF magic (is it a GGUF model?)");
        uint version = r.U32();
        if (version is not (2 or 3)) throw r.Error(4, $"unsupported GGUF version {version} (2 and 3 are supported)");
        long nTensors = r.Count(32, "tensor count");
        long nKv = r.Count(13, "metadata count");

        var metadata = new Dictionary<string, GgufValue>((int)Math.Min(nKv, 4096));
        for (long i = 0; i < nKv; i++)
        {
            long at = r.Position;
            string key = r.String();
            var type = r.ValueType();
            var value = r.Value(type);
            if (!metadata.TryAdd(key, value)) throw r.Error(at, $"duplicate metadata key '{key}'");
        }

        int alignment = DefaultAlignment;
        if (metadata.TryGetValue("general.alignment", out var a))
        {
            if (a.Value is not uint al || al == 0 || (al & (al - 1)) != 0 || al > 1 << 20)
                throw r.Error(r.Position, $"general.alignment must be a power of two UInt32, got {a}");
            alignment = (int)al;
        }

        var tensors = new List<GgufTensorInfo>((int)Math.Min(nTensors, 4096));
        var names = new HashSet<string>();
        for (long i = 0; i < nTensors; i++)
        {
            long at = r.Position;
            string tname = r.String();
            uint nDims = r.U32();
            if (nDims is 0 or > MaxDimensions) throw r.Error(at, $"tensor '{tname}' has {nDims} dimensions (1 to {MaxDimensions} allowed)");
            var shape = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++)
            {
                ulong n = r.U64();
                if (n == 0 || n > long.MaxValue / 8) throw r.Error(at, $"tensor '{tname}' has dimension {d} of size {n}");
                shape[d] = (long)n;
                elements = elements <= long.MaxValue / shape[d] ? elements * shape[d] : throw r.Error(at, $"tensor '{tname}' is too large");
            }
            var type = (GgmlType)r.U32();
            if (!GgmlTypeTraits.IsKnown(type)) throw r.Error(at, $"tensor '{tname}' has unknown ggml type {(int)type}");
            if (shape[0] % GgmlTypeTraits.BlockSize(type) != 0)
                throw r.Error(at, $"tensor '{tname}': row length {shape[0]} is not a multiple of {type}'s block size {GgmlTypeTraits.BlockSize(type)}");
            ulong offset = r.U64();
            if (offset % (ulong)alignment != 0) throw r.Error(at, $"tensor '{tname}' data offset {offset} is not aligned to {alignment}");
            if (offset > (ulong)r.Length) throw r.Error(at, $"tensor '{tname}' data offset {offset} lies past the end of the file");
            if (!names.Add(tname)) throw r.Error(at, $"duplicate tensor name '{tname}'");
            tensors.Add(new GgufTensorInfo(tname, shape, type, (long)offset));
        }

        long dataOffset = Align(r.Position, alignment);
        foreach (var t in tensors)
        {
            if (t.ElementCount / GgmlTypeTraits.BlockSize(t.Type) > (r.Length - dataOffset) / GgmlTypeTraits.BlockBytes(t.Type)
                || dataOffset + t.Offset + t.ByteSize > r.Length)
                throw r.Error(dataOffset + t.Offset, $"tensor '{t.Name}' ({t.ByteSize} bytes at data offset {t.Offset}) runs past the end of the file (truncated?)");
        }
        return new GgufFile(name, version, metadata, tensors, alignment, dataOffset);
    }

    /// <summary>The raw bytes of a tensor.</summary>
    public byte[] ReadTensorBytes(GgufTensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var bytes = new byte[tensor.ByteSize];
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read);
        stream.Position = DataOffset + tensor.Offset;
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>A tensor's values as f32 (from F32, F16 or BF16 data); quantized tensors are refused.</summary>
    public float[] ReadTensorFloats(GgufTensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!GgmlTypeTraits.IsFloat(tensor.Type))
            throw new LlamaException($"{Path}: tensor '{tensor.Name}' is {tensor.Type}; only F32, F16 and BF16 tensors can be read as floats (quantized models cannot be trained)");
        return TensorData.ToFloats(ReadTensorBytes(tensor), tensor.Type);
    }

    internal static long Align(long offset, int alignment) => (offset + alignment - 1) / alignment * alignment;

    /// <summary>A bounds-checked little-endian reader over the header.</summary>
    private sealed class Reader(Stream stream, string name)
    {
        private readonly byte[] _scratch = new byte[8];
        public long Length { get; } = stream.Length;
        public long Position => stream.Position;

        public GgufFormatException Error(long offset, string problem) => new(name, offset, problem);

        private ReadOnlySpan<byte> Take(int n)
        {
            if (Length - Position < n) throw Error(Position, "unexpected end of file (truncated?)");
            stream.ReadExactly(_scratch, 0, n);
            return _scratch.AsSpan(0, n);
        }

        public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
        public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

        /// <summary>A count of items each at least <paramref name="minBytes"/> long: it cannot exceed what is left of the file.</summary>
        public long Count(int minBytes, string what)
        {
            long at = Position;
            ulong n = U64();
            if (n > (ulong)((Length - Position) / minBytes)) throw Error(at, $"{what} {n} is more than the file could hold");
            return (long)n;
        }

        public string String()
        {
            long at = Position;
            ulong n = U64();
            if (n > (ulong)(Length - Position)) throw Error(at, $"string length {n} runs past the end of the file");
            var bytes = new byte[n];
            stream.ReadExactly(bytes);
            try { return Strict.GetString(bytes); }
            catch (DecoderFallbackException) { throw Error(at, "string is not valid UTF-8"); }
        }

        public GgufValueType ValueType()
        {
            long at = Position;
            uint t = U32();
            if (t > (uint)GgufValueType.Float64) throw Error(at, $"unknown metadata value type {t}");
            return (GgufValueType)t;
        }

        public GgufValue Value(GgufValueType type)
        {
            if (type != GgufValueType.Array) return GgufValue.Create(type, type, Scalar(type));
            long at = Position;
            var elementType = ValueType();
            if (elementType == GgufValueType.Array) throw Error(at, "nested arrays are not supported");
            long count = Count(elementType == GgufValueType.String ? 8 : ScalarSize(elementType), "array length");
            var array = Array.CreateInstance(GgufValue.ClrType(elementType), count);
            for (long i = 0; i < count; i++) array.SetValue(Scalar(elementType), i);
            return GgufValue.Create(GgufValueType.Array, elementType, array);
        }

        private object Scalar(GgufValueType type) => type switch
        {
            GgufValueType.UInt8 => Take(1)[0],
            GgufValueType.Int8 => (sbyte)Take(1)[0],
            GgufValueType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(Take(2)),
            GgufValueType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(Take(2)),
            GgufValueType.UInt32 => U32(),
            GgufValueType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(Take(4)),
            GgufValueType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(Take(4)),
            GgufValueType.Bool => Take(1)[0] switch { 0 => false, 1 => true, var b => throw Error(Position - 1, $"bool value {b}") },
            GgufValueType.String => String(),
            GgufValueType.UInt64 => U64(),
            GgufValueType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(Take(8)),
            GgufValueType.Float64 => BinaryPrimitives.ReadDoubleLittleEndian(Take(8)),
            _ => throw Error(Position, $"unexpected value type {type}"),
        };

        private static int ScalarSize(GgufValueType type) => type switch
        {
            GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
            GgufValueType.UInt16 or GgufValueType.Int16 => 2,
            GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
            _ => 8,
        };

        private static readonly UTF8Encoding Strict = new(false, true);
    }
}
