using System.Globalization;

namespace Flywheel.Llama.Gguf;

/// <summary>GGUF metadata value types, numbered as in gguf.h.</summary>
public enum GgufValueType
{
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7, String = 8, Array = 9,
    UInt64 = 10, Int64 = 11, Float64 = 12,
}

/// <summary>
/// One metadata value. Scalars are held as their CLR type (byte, sbyte, ushort, short, uint, int, float, bool, string,
/// ulong, long, double); an array as a CLR array of its element type.
/// </summary>
public sealed record GgufValue
{
    private GgufValue(GgufValueType type, GgufValueType elementType, object value)
    {
        Type = type;
        ElementType = elementType;
        Value = value;
    }

    public GgufValueType Type { get; }

    /// <summary>For arrays, the type of their elements; otherwise the same as <see cref="Type"/>.</summary>
    public GgufValueType ElementType { get; }

    public object Value { get; }

    public static GgufValue Of(string value) => new(GgufValueType.String, GgufValueType.String, value);
    public static GgufValue Of(uint value) => new(GgufValueType.UInt32, GgufValueType.UInt32, value);
    public static GgufValue Of(int value) => new(GgufValueType.Int32, GgufValueType.Int32, value);
    public static GgufValue Of(ulong value) => new(GgufValueType.UInt64, GgufValueType.UInt64, value);
    public static GgufValue Of(long value) => new(GgufValueType.Int64, GgufValueType.Int64, value);
    public static GgufValue Of(float value) => new(GgufValueType.Float32, GgufValueType.Float32, value);
    public static GgufValue Of(double value) => new(GgufValueType.Float64, GgufValueType.Float64, value);
    public static GgufValue Of(bool value) => new(GgufValueType.Bool, GgufValueType.Bool, value);
    public static GgufValue Of(string[] values) => new(GgufValueType.Array, GgufValueType.String, values);
    public static GgufValue Of(int[] values) => new(GgufValueType.Array, GgufValueType.Int32, values);
    public static GgufValue Of(float[] values) => new(GgufValueType.Array, GgufValueType.Float32, values);

    /// <summary>A value of any type; <paramref name="value"/> must be the CLR type that <paramref name="type"/> maps to.</summary>
    public static GgufValue Create(GgufValueType type, GgufValueType elementType, object value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var clr = ClrType(type == GgufValueType.Array ? elementType : type);
        bool ok = type == GgufValueType.Array ? value.GetType() == clr.MakeArrayType() : value.GetType() == clr;
        if (!ok || elementType == GgufValueType.Array)
            throw new ArgumentException($"a GGUF {type} value cannot hold a {value.GetType().Name}", nameof(value));
        return new GgufValue(type, type == GgufValueType.Array ? elementType : type, value);
    }

    internal static Type ClrType(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => typeof(byte),
        GgufValueType.Int8 => typeof(sbyte),
        GgufValueType.UInt16 => typeof(ushort),
        GgufValueType.Int16 => typeof(short),
        GgufValueType.UInt32 => typeof(uint),
        GgufValueType.Int32 => typeof(int),
        GgufValueType.Float32 => typeof(float),
        GgufValueType.Bool => typeof(bool),
        GgufValueType.String => typeof(string),
        GgufValueType.UInt64 => typeof(ulong),
        GgufValueType.Int64 => typeof(long),
        GgufValueType.Float64 => typeof(double),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a scalar GGUF type"),
    };

    public string AsString() => Value as string ?? throw new InvalidCastException($"GGUF value is {Type}, not String");

    public long AsInt64() => Value switch
    {
        byte or sbyte or ushort or short or uint or int or long => Convert.ToInt64(Value, CultureInfo.InvariantCulture),
        ulong u when u <= long.MaxValue => (long)u,
        _ => throw new InvalidCastException($"GGUF value is {Type}, not an integer"),
    };

    public double AsDouble() => Value switch
    {
        float or double => Convert.ToDouble(Value, CultureInfo.InvariantCulture),
        _ => AsInt64(),
    };

    public Array AsArray() => Value as Array ?? throw new InvalidCastException($"GGUF value is {Type}, not Array");

    /// <summary>A short human-readable form: arrays show their length and first elements.</summary>
    public override string ToString()
    {
        if (Value is Array a)
        {
            var head = a.Cast<object>().Take(8).Select(Format);
            return $"[{ElementType} × {a.Length}] {string.Join(", ", head)}{(a.Length > 8 ? ", …" : "")}";
        }
        return Format(Value);
    }

    private static string Format(object v) => v switch
    {
        string s => s.Length > 80 ? $"\"{s[..80].ReplaceLineEndings("\\n")}…\" ({s.Length} chars)" : $"\"{s.ReplaceLineEndings("\\n")}\"",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };
}
