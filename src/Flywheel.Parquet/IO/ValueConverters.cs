using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using Flywheel.Parquet.Encodings;
using Flywheel.Parquet.Thrift;

namespace Flywheel.Parquet.IO;

/// <summary>Picks, for a leaf column, the decoder of its physical type and the conversion to its logical type's .NET value.</summary>
internal static class ValueConverters
{
    public static ColumnData Create(ParquetField leaf, long fileOffset)
    {
        var kind = leaf.Logical?.Kind ?? LogicalKind.None;
        var converted = leaf.Converted;
        switch (leaf.PhysicalType)
        {
            case PhysicalType.Boolean:
                return new ColumnData<bool>(leaf, fileOffset, new BooleanDecoder(), v => v);
            case PhysicalType.Int32:
                return new ColumnData<int>(leaf, fileOffset, new NumberDecoder<int>(), Int32Box(leaf, kind, converted));
            case PhysicalType.Int64:
                return new ColumnData<long>(leaf, fileOffset, new NumberDecoder<long>(), Int64Box(leaf, kind, converted));
            case PhysicalType.Float:
                return new ColumnData<float>(leaf, fileOffset, new NumberDecoder<float>(), v => v);
            case PhysicalType.Double:
                return new ColumnData<double>(leaf, fileOffset, new NumberDecoder<double>(), v => v);
            case PhysicalType.ByteArray when IsText(kind, converted):
                return new ColumnData<string>(leaf, fileOffset, new ByteArrayDecoder<string>(Utf8), v => v);
            case PhysicalType.ByteArray:
                return new ColumnData<byte[]>(leaf, fileOffset, new ByteArrayDecoder<byte[]>(b => b.ToArray()), BytesBox(leaf, kind, converted));
            case PhysicalType.Int96:
                return new ColumnData<byte[]>(leaf, fileOffset, new FixedDecoder<byte[]>(12, b => b.ToArray()), Int96Timestamp);
            default:
                return new ColumnData<byte[]>(leaf, fileOffset, new FixedDecoder<byte[]>(leaf.TypeLength, b => b.ToArray()), BytesBox(leaf, kind, converted));
        }
    }

    private static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    private static bool IsText(LogicalKind kind, ConvertedType converted) =>
        kind is LogicalKind.String or LogicalKind.Enum or LogicalKind.Json
        || converted is ConvertedType.Utf8 or ConvertedType.Enum or ConvertedType.Json;

    private static Func<int, object?> Int32Box(ParquetField leaf, LogicalKind kind, ConvertedType converted)
    {
        if (kind == LogicalKind.Date || converted == ConvertedType.Date)
        {
            return v => (long)UnixEpochDay + v is >= 0 and var day && day <= DateOnly.MaxValue.DayNumber ? DateOnly.FromDayNumber((int)day) : v;
        }

        if (kind == LogicalKind.Decimal || converted == ConvertedType.Decimal)
        {
            return v => Scale(v, leaf.Scale);
        }

        if ((kind == LogicalKind.Integer && !leaf.Logical!.IsSigned) || converted is ConvertedType.Uint8 or ConvertedType.Uint16 or ConvertedType.Uint32)
        {
            return v => (long)(uint)v;
        }

        if (kind == LogicalKind.Time || converted == ConvertedType.TimeMillis)
        {
            var time = Time(TimeUnit.Millis);
            return v => time(v);
        }

        return v => v;
    }

    private static Func<long, object?> Int64Box(ParquetField leaf, LogicalKind kind, ConvertedType converted)
    {
        if (kind == LogicalKind.Decimal || converted == ConvertedType.Decimal)
        {
            return v => Scale(v, leaf.Scale);
        }

        if ((kind == LogicalKind.Integer && !leaf.Logical!.IsSigned) || converted == ConvertedType.Uint64)
        {
            return v => (ulong)v;
        }

        if (kind == LogicalKind.Timestamp || converted is ConvertedType.TimestampMillis or ConvertedType.TimestampMicros)
        {
            var unit = kind == LogicalKind.Timestamp ? leaf.Logical!.Unit : converted == ConvertedType.TimestampMillis ? TimeUnit.Millis : TimeUnit.Micros;
            bool utc = kind != LogicalKind.Timestamp || leaf.Logical!.IsAdjustedToUtc;
            return v => Timestamp(unit switch { TimeUnit.Millis => (Int128)v * 1000, TimeUnit.Micros => v, _ => v / 1000 }, utc);
        }

        if (kind == LogicalKind.Time || converted == ConvertedType.TimeMicros)
        {
            var unit = kind == LogicalKind.Time ? leaf.Logical!.Unit : TimeUnit.Micros;
            return Time(unit);
        }

        return v => v;
    }

    private static Func<byte[], object?> BytesBox(ParquetField leaf, LogicalKind kind, ConvertedType converted)
    {
        if (kind == LogicalKind.Decimal || converted == ConvertedType.Decimal)
        {
            return v => Scale(new BigInteger(v, isUnsigned: false, isBigEndian: true), leaf.Scale);
        }

        if (kind == LogicalKind.Float16 && leaf.TypeLength == 2)
        {
            return v => (float)BinaryPrimitives.ReadHalfLittleEndian(v);
        }

        if (kind == LogicalKind.Uuid && leaf.TypeLength == 16)
        {
            return v => new Guid(v, bigEndian: true);
        }

        return v => v;
    }

    /// <summary>INT96 legacy timestamps: nanoseconds of the day, then the Julian day.</summary>
    private static object? Int96Timestamp(byte[] v)
    {
        long nanos = BinaryPrimitives.ReadInt64LittleEndian(v);
        int julianDay = BinaryPrimitives.ReadInt32LittleEndian(v.AsSpan(8));
        return Timestamp(((Int128)(julianDay - 2440588) * 86_400_000_000) + (nanos / 1000), utc: true);
    }

    /// <summary>A DateTime where the instant fits one, else the microseconds since the epoch as a long.</summary>
    private static object? Timestamp(Int128 micros, bool utc)
    {
        Int128 ticks = (micros * 10) + DateTime.UnixEpoch.Ticks;
        if (ticks >= DateTime.MinValue.Ticks && ticks <= DateTime.MaxValue.Ticks)
        {
            return new DateTime((long)ticks, utc ? DateTimeKind.Utc : DateTimeKind.Unspecified);
        }

        return micros >= long.MinValue && micros <= long.MaxValue ? (long)micros : null;
    }

    /// <summary>A TimeOnly where the value is a time of day, else the raw count in microseconds.</summary>
    private static Func<long, object?> Time(TimeUnit unit) =>
        v => Ticks(v, unit) is var t && t >= 0 && t <= TimeOnly.MaxValue.Ticks ? new TimeOnly(t) : t / 10;

    private static long Ticks(long v, TimeUnit unit) => unit switch
    {
        TimeUnit.Millis => unchecked(v * TimeSpan.TicksPerMillisecond),
        TimeUnit.Micros => unchecked(v * 10),
        _ => v / 100,
    };

    /// <summary>The unscaled integer over 10^scale, as a decimal where it fits and as its exact string where not.</summary>
    private static object Scale(BigInteger unscaled, int scale)
    {
        try
        {
            return scale is >= 0 and <= 28 ? (decimal)unscaled / Pow10(scale) : throw new OverflowException();
        }
        catch (OverflowException)
        {
            var s = BigInteger.Abs(unscaled).ToString().PadLeft(Math.Max(scale, 0) + 1, '0');
            return (unscaled.Sign < 0 ? "-" : "") + (scale <= 0 ? s : s[..^scale] + "." + s[^scale..]);
        }
    }

    private static decimal Pow10(int scale)
    {
        decimal p = 1;
        for (int i = 0; i < scale; i++)
        {
            p *= 10;
        }

        return p;
    }

    private static readonly int UnixEpochDay = DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber;
}
