namespace Flywheel.Parquet;

/// <summary>The physical (storage) type of a Parquet leaf column.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "The Parquet specification's own names.")]
public enum PhysicalType
{
    Boolean = 0,
    Int32 = 1,
    Int64 = 2,
    Int96 = 3,
    Float = 4,
    Double = 5,
    ByteArray = 6,
    FixedLenByteArray = 7,
}

/// <summary>How often a field occurs in its parent.</summary>
public enum Repetition
{
    Required = 0,
    Optional = 1,
    Repeated = 2,
}

/// <summary>Compression codecs. The writer supports Uncompressed, Snappy, Gzip and Zstd; the reader also Brotli.</summary>
public enum ParquetCompression
{
    Uncompressed = 0,
    Snappy = 1,
    Gzip = 2,
    Lzo = 3,
    Brotli = 4,
    Lz4 = 5,
    Zstd = 6,
    Lz4Raw = 7,
}
