using Flywheel.Parquet.IO;

namespace Flywheel.Parquet.Thrift;

internal enum ConvertedType
{
    None = -1,
    Utf8 = 0,
    Map = 1,
    MapKeyValue = 2,
    List = 3,
    Enum = 4,
    Decimal = 5,
    Date = 6,
    TimeMillis = 7,
    TimeMicros = 8,
    TimestampMillis = 9,
    TimestampMicros = 10,
    Uint8 = 11,
    Uint16 = 12,
    Uint32 = 13,
    Uint64 = 14,
    Int8 = 15,
    Int16 = 16,
    Int32 = 17,
    Int64 = 18,
    Json = 19,
    Bson = 20,
    Interval = 21,
}

internal enum ColumnEncoding
{
    Plain = 0,
    PlainDictionary = 2,
    Rle = 3,
    BitPacked = 4,
    DeltaBinaryPacked = 5,
    DeltaLengthByteArray = 6,
    DeltaByteArray = 7,
    RleDictionary = 8,
    ByteStreamSplit = 9,
}

internal enum PageType
{
    DataPage = 0,
    IndexPage = 1,
    DictionaryPage = 2,
    DataPageV2 = 3,
}

internal enum LogicalKind
{
    None,
    String,
    Map,
    List,
    Enum,
    Decimal,
    Date,
    Time,
    Timestamp,
    Integer,
    Unknown,
    Json,
    Bson,
    Uuid,
    Float16,
    Other,
}

internal enum TimeUnit
{
    Millis,
    Micros,
    Nanos,
}

/// <summary>The LogicalType union, flattened: <see cref="Kind"/> says which member is set.</summary>
internal sealed record LogicalType(LogicalKind Kind)
{
    public int BitWidth { get; init; }

    public bool IsSigned { get; init; } = true;

    public int Scale { get; init; }

    public int Precision { get; init; }

    public bool IsAdjustedToUtc { get; init; }

    public TimeUnit Unit { get; init; }

    public static LogicalType Read(ref CompactReader r)
    {
        r.EnterStruct();
        LogicalType result = new(LogicalKind.Other);
        short last = 0;
        while (r.NextField(ref last, out short id, out byte type))
        {
            if (type != CompactType.Struct)
            {
                r.Skip(type);
                continue;
            }

            result = id switch
            {
                1 => Empty(ref r, LogicalKind.String),
                2 => Empty(ref r, LogicalKind.Map),
                3 => Empty(ref r, LogicalKind.List),
                4 => Empty(ref r, LogicalKind.Enum),
                5 => ReadDecimal(ref r),
                6 => Empty(ref r, LogicalKind.Date),
                7 => ReadTime(ref r, LogicalKind.Time),
                8 => ReadTime(ref r, LogicalKind.Timestamp),
                10 => ReadInt(ref r),
                11 => Empty(ref r, LogicalKind.Unknown),
                12 => Empty(ref r, LogicalKind.Json),
                13 => Empty(ref r, LogicalKind.Bson),
                14 => Empty(ref r, LogicalKind.Uuid),
                15 => Empty(ref r, LogicalKind.Float16),
                _ => Empty(ref r, LogicalKind.Other),
            };
        }

        r.ExitStruct();
        return result;
    }

    public void Write(CompactWriter w, ref short lastId, short fieldId)
    {
        w.FieldHeader(ref lastId, fieldId, CompactType.Struct);
        short last = 0;
        switch (Kind)
        {
            case LogicalKind.String:
                w.FieldHeader(ref last, 1, CompactType.Struct);
                w.Stop();
                break;
            case LogicalKind.Map:
                w.FieldHeader(ref last, 2, CompactType.Struct);
                w.Stop();
                break;
            case LogicalKind.List:
                w.FieldHeader(ref last, 3, CompactType.Struct);
                w.Stop();
                break;
            case LogicalKind.Integer:
                {
                    w.FieldHeader(ref last, 10, CompactType.Struct);
                    short inner = 0;
                    w.FieldHeader(ref inner, 1, CompactType.Byte);
                    w.RawByte((byte)BitWidth);
                    w.Bool(ref inner, 2, IsSigned);
                    w.Stop();
                    break;
                }

            default:
                throw new NotSupportedException($"Writing logical type {Kind} is not supported.");
        }

        w.Stop();
    }

    public override string ToString() => Kind switch
    {
        LogicalKind.Integer => $"INT({BitWidth}, {(IsSigned ? "signed" : "unsigned")})",
        LogicalKind.Decimal => $"DECIMAL({Precision}, {Scale})",
        LogicalKind.Time or LogicalKind.Timestamp => $"{Kind.ToString().ToUpperInvariant()}({Unit.ToString().ToUpperInvariant()}, utc={IsAdjustedToUtc.ToString().ToLowerInvariant()})",
        _ => Kind.ToString().ToUpperInvariant(),
    };

    private static LogicalType Empty(ref CompactReader r, LogicalKind kind)
    {
        r.Skip(CompactType.Struct);
        return new LogicalType(kind);
    }

    private static LogicalType ReadDecimal(ref CompactReader r)
    {
        r.EnterStruct();
        int scale = 0, precision = 0;
        short last = 0;
        while (r.NextField(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 1: scale = r.ReadI32(type); break;
                case 2: precision = r.ReadI32(type); break;
                default: r.Skip(type); break;
            }
        }

        r.ExitStruct();
        return new LogicalType(LogicalKind.Decimal) { Scale = scale, Precision = precision };
    }

    private static LogicalType ReadTime(ref CompactReader r, LogicalKind kind)
    {
        r.EnterStruct();
        bool utc = false;
        var unit = TimeUnit.Millis;
        short last = 0;
        while (r.NextField(ref last, out short id, out byte type))
        {
            if (id == 1)
            {
                utc = r.ReadBool(type);
            }
            else if (id == 2 && type == CompactType.Struct)
            {
                r.EnterStruct();
                short inner = 0;
                while (r.NextField(ref inner, out short unitId, out byte unitType))
                {
                    unit = unitId switch { 2 => TimeUnit.Micros, 3 => TimeUnit.Nanos, _ => TimeUnit.Millis };
                    r.Skip(unitType);
                }

                r.ExitStruct();
            }
            else
            {
                r.Skip(type);
            }
        }

        r.ExitStruct();
        return new LogicalType(kind) { IsAdjustedToUtc = utc, Unit = unit };
    }

    private static LogicalType ReadInt(ref CompactReader r)
    {
        r.EnterStruct();
        int width = 32;
        bool signed = true;
        short last = 0;
        while (r.NextField(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 1: width = r.ReadI32(type); break;
                case 2: signed = r.ReadBool(type); break;
                default: r.Skip(type); break;
            }
        }

        r.ExitStruct();
        return new LogicalType(LogicalKind.Integer) { BitWidth = width, IsSigned = signed };
    }
}

internal sealed class SchemaElement
{
    public PhysicalType? Type { get; set; }

    public int TypeLength { get; set; }

    public Repetition? RepetitionType { get; set; }

    public string Name { get; set; } = "";

    public int NumChildren { get; set; }

    public ConvertedType ConvertedType { get; set; } = ConvertedType.None;

    public int Scale { get; set; }

    public int Precision { get; set; }

    public int? FieldId { get; set; }

    public LogicalType? LogicalType { get; set; }

    public static SchemaElement Read(ref CompactReader r)
    {
        r.EnterStruct();
        var e = new SchemaElement();
        bool hasName = false;
        short last = 0;
        while (r.NextField(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 1: e.Type = (PhysicalType)CheckEnum(ref r, r.ReadI32(type), 7); break;
                case 2: e.TypeLength = r.ReadI32(type); break;
                case 3: e.RepetitionType = (Repetition)CheckEnum(ref r, r.ReadI32(type), 2); break;
                case 4: e.Name = r.ReadString(type); hasName = true; break;
                case 5: e.NumChildren = r.ReadI32(type); break;
                case 6: e.ConvertedType = (ConvertedType)r.ReadI32(type); break;
                case 7: e.Scale = r.ReadI32(type); break;
                case 8: e.Precision = r.ReadI32(type); break;
                case 9: e.FieldId = r.ReadI32(type); break;
                case 10 when type == CompactType.Struct: e.LogicalType = LogicalType.Read(ref r); break;
                default: r.Skip(type); break;
            }
        }

        r.ExitStruct();
        if (!hasName)
        {
            throw r.Error("schema element has no name");
        }

        return e;
    }

    public void Write(CompactWriter w)
    {
        short last = 0;
        if (Type is { } t)
        {
            w.I32(ref last, 1, (int)t);
        }

        if (Type == PhysicalType.FixedLenByteArray)
        {
            w.I32(ref last, 2, TypeLength);
        }

        if (RepetitionType is { } rep)
        {
            w.I32(ref last, 3, (int)rep);
        }

        w.String(ref last, 4, Name);
        if (Type is null)
        {
            w.I32(ref last, 5, NumChildren);
        }

        if (ConvertedType != ConvertedType.None)
        {
            w.I32(ref last, 6, (int)ConvertedType);
        }

        LogicalType?.Write(w, ref last, 10);
        w.Stop();
    }

    internal static int CheckEnum(ref CompactReader r, int value, int max) =>
        value >= 0 && value <= max ? value : throw r.Error($"enum value {value} is out of range");
}

internal sealed class Statistics
{
    public byte[]? Max { get; set; }

    public byte[]? Min { get; set; }

    public long? NullCount { get; set; }

    public long? DistinctCount { get; set; }

    public byte[]? MaxValue { get; set; }

    public byte[]? MinValue { get; set; }

    public static Statistics Read(ref CompactReader r)
    {
        r.EnterStruct();
        var s = new Statistics();
        short last = 0;
        while (r.NextField(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 1: s.Max = r.ReadBinary(type).ToArray(); break;
                case 2: s.Min = r.ReadBinary(type).ToArray(); break;
                case 3: s.NullCount = r.ReadI64(type); break;
                case 4: s.DistinctCount = r.ReadI64(type); break;
                case 5: s.MaxValue = r.ReadBinary(type).ToArray(); break;
                case 6: s.MinValue = r.ReadBinary(type).ToArray(); break;
                default: r.Skip(type); break;
            }
        }

        r.ExitStruct();
        return s;
    }

    public void Write(CompactWriter w, ref short lastId, short fieldId)
    {
        w.FieldHeader(ref lastId, fieldId, CompactType.Struct);
        short last = 0;
        if (NullCount is { } n)
        {
            w.I64(ref last, 3, n);
        }

        if (MaxValue is not null)
        {
            w.Binary(ref last, 5, MaxValue);
        }

        if (MinValue is not null)
        {
            w.Binary(ref last, 6, MinValue);
        }

        w.Stop();
    }
}

internal sealed class KeyValue
{
    public string Key { get; set; } = "";

    public string? Value { get; set; }

    public static KeyValue Read(ref CompactReader r)
    {
        r.EnterStruct();
        var kv = new KeyValue();
        short last = 0;
        while (r.NextField(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 1: kv.Key = r.ReadString(type); break;
                case 2: kv.Value = r.ReadString(type); break;
                default: r.Skip(type); break;
            }
        }

        r.ExitStruct();
        return kv;
    }

    public void Write(CompactWriter w)
    {
        short last = 0;
        w.String(ref last, 1, Key);
        if (Value is not null)
        {
            w.String(ref last, 2, Value);
        }

        w.Stop();
    }
}

internal sealed class ColumnMetaData
{
    public PhysicalType Type { get; set; }

    public List<ColumnEncoding> Encodings { get; set; } = [];

    public List<string> PathInSchema { get; set; } = [];

    public ParquetCompression Codec { get; set; }

    public long NumValues { get; set; }

    public long TotalUncompressedSize { get; set; }

    public long TotalCompressedSize { get; set; }

    public long DataPageOffset { get; set; } = -1;

    public long? DictionaryPageOffset { get; set; }

    public Statistics? Statistics { get; set; }

    public static ColumnMetaData Read(ref CompactReader r)
    {
        r.EnterStruct();
        var m = new ColumnMetaData();
        short last = 0;
        while (r.NextField(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 1: m.Type = (PhysicalType)SchemaElement.CheckEnum(ref r, r.ReadI32(type), 7); break;
                case 2:
                    {
                        int n = r.ReadListHeader(type, out byte et);
                        for (int i = 0; i < n; i++)
                        {
                            m.Encodings.Add((ColumnEncoding)r.ReadI32(et));
                        }

                        break;
                    }

                case 3:
                    {
                        int n = r.ReadListHeader(type, out byte et);
                        for (int i = 0; i < n; i++)
                        {
                            m.PathInSchema.Add(r.ReadString(et));
                        }

                        break;
                    }

                case 4: m.Codec = (ParquetCompression)r.ReadI32(type); break;
                case 5: m.NumValues = r.ReadI64(type); break;
                case 6: m.TotalUncompressedSize = r.ReadI64(type); break;
                case 7: m.TotalCompressedSize = r.ReadI64(type); break;
                case 9: m.DataPageOffset = r.ReadI64(type); break;
                case 11: m.DictionaryPageOffset = r.ReadI64(type); break;
                case 12 when type == CompactType.Struct: m.Statistics = Statistics.Read(ref r); break;
                default: r.Skip(type); break;
            }
        }

        r.ExitStruct();
        return m;
    }

    public void Write(CompactWriter w, ref short lastId, short fieldId)
    {
        w.FieldHeader(ref lastId, fieldId, CompactType.Struct);
        short last = 0;
        w.I32(ref last, 1, (int)Type);
        w.ListHeader(ref last, 2, CompactType.I32, Encodings.Count);
        foreach (var e in Encodings)
        {
            w.RawI32((int)e);
        }

        w.ListHeader(ref last, 3, CompactType.Binary, PathInSchema.Count);
        foreach (var p in PathInSchema)
        {
            w.RawBinary(System.Text.Encoding.UTF8.GetBytes(p));
        }

        w.I32(ref last, 4, (int)Codec);
        w.I64(ref last, 5, NumValues);
        w.I64(ref last, 6, TotalUncompressedSize);
        w.I64(ref last, 7, TotalCompressedSize);
        w.I64(ref last, 9, DataPageOffset);
        if (DictionaryPageOffset is { } d)
        {
            w.I64(ref last, 11, d);
        }

        Statistics?.Write(w, ref last, 12);
        w.Stop();
    }
}

internal sealed class ColumnChunk
{
    public string? FilePath { get; set; }

    public long FileOffset { get; set; }

    public ColumnMetaData? MetaData { get; set; }

    public bool IsEncrypted { get; set; }

    public static ColumnChunk Read(ref CompactReader r)
    {
        r.EnterStruct();
        var c = new ColumnChunk();
        short last = 0;
        while (r.NextField(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 1: c.FilePath = r.ReadString(type); break;
                case 2: c.FileOffset = r.ReadI64(type); break;
                case 3 when type == CompactType.Struct: c.MetaData = ColumnMetaData.Read(ref r); break;
                case 8 or 9: c.IsEncrypted = true; r.Skip(type); break;
                default: r.Skip(type); break;
            }
        }

        r.ExitStruct();
        return c;
    }

    public void Write(CompactWriter w)
    {
        short last = 0;
        w.I64(ref last, 2, FileOffset);
        MetaData!.Write(w, ref last, 3);
        w.Stop();
    }
}

internal sealed class RowGroup
{
    public List<ColumnChunk> Columns { get; set; } = [];

    public long TotalByteSize { get; set; }

    public long NumRows { get; set; }

    public long? FileOffset { get; set; }

    public long? TotalCompressedSize { get; set; }

    public static RowGroup Read(ref CompactReader r)
    {
        r.EnterStruct();
        var g = new RowGroup();
        short last = 0;
        while (r.NextField(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 1:
                    {
                        int n = r.ReadListHeader(type, out byte et);
                        ExpectStruct(ref r, et);
                        for (int i = 0; i < n; i++)
                        {
                            g.Columns.Add(ColumnChunk.Read(ref r));
                        }

                        break;
                    }

                case 2: g.TotalByteSize = r.ReadI64(type); break;
                case 3: g.NumRows = r.ReadI64(type); break;
                case 5: g.FileOffset = r.ReadI64(type); break;
                case 6: g.TotalCompressedSize = r.ReadI64(type); break;
                default: r.Skip(type); break;
            }
        }

        r.ExitStruct();
        return g;
    }

    public void Write(CompactWriter w, short ordinal)
    {
        short last = 0;
        w.ListHeader(ref last, 1, CompactType.Struct, Columns.Count);
        foreach (var c in Columns)
        {
            c.Write(w);
        }

        w.I64(ref last, 2, TotalByteSize);
        w.I64(ref last, 3, NumRows);
        if (FileOffset is { } fo)
        {
            w.I64(ref last, 5, fo);
        }

        if (TotalCompressedSize is { } tc)
        {
            w.I64(ref last, 6, tc);
        }

        w.FieldHeader(ref last, 7, CompactType.I16);
        w.RawI32(ordinal);
        w.Stop();
    }

    internal static void ExpectStruct(ref CompactReader r, byte elementType)
    {
        if (elementType != CompactType.Struct)
        {
            throw r.Error($"Thrift list holds wire type {elementType}, expected structs");
        }
    }
}

internal sealed class FileMetaData
{
    public int Version { get; set; }

    public List<SchemaElement> Schema { get; set; } = [];

    public long NumRows { get; set; }

    public List<RowGroup> RowGroups { get; set; } = [];

    public List<KeyValue> KeyValueMetadata { get; set; } = [];

    public string? CreatedBy { get; set; }

    public bool IsEncrypted { get; set; }

    public static FileMetaData Read(ref CompactReader r)
    {
        r.EnterStruct();
        var m = new FileMetaData();
        short last = 0;
        while (r.NextField(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 1: m.Version = r.ReadI32(type); break;
                case 2:
                    {
                        int n = r.ReadListHeader(type, out byte et);
                        RowGroup.ExpectStruct(ref r, et);
                        for (int i = 0; i < n; i++)
                        {
                            m.Schema.Add(SchemaElement.Read(ref r));
                        }

                        break;
                    }

                case 3: m.NumRows = r.ReadI64(type); break;
                case 4:
                    {
                        int n = r.ReadListHeader(type, out byte et);
                        RowGroup.ExpectStruct(ref r, et);
                        for (int i = 0; i < n; i++)
                        {
                            m.RowGroups.Add(RowGroup.Read(ref r));
                        }

                        break;
                    }

                case 5:
                    {
                        int n = r.ReadListHeader(type, out byte et);
                        RowGroup.ExpectStruct(ref r, et);
                        for (int i = 0; i < n; i++)
                        {
                            m.KeyValueMetadata.Add(KeyValue.Read(ref r));
                        }

                        break;
                    }

                case 6: m.CreatedBy = r.ReadString(type); break;
                case 8: m.IsEncrypted = true; r.Skip(type); break;
                default: r.Skip(type); break;
            }
        }

        r.ExitStruct();
        return m;
    }

    public void Write(CompactWriter w)
    {
        short last = 0;
        w.I32(ref last, 1, Version);
        w.ListHeader(ref last, 2, CompactType.Struct, Schema.Count);
        foreach (var e in Schema)
        {
            e.Write(w);
        }

        w.I64(ref last, 3, NumRows);
        w.ListHeader(ref last, 4, CompactType.Struct, RowGroups.Count);
        for (int i = 0; i < RowGroups.Count; i++)
        {
            RowGroups[i].Write(w, (short)i);
        }

        if (KeyValueMetadata.Count > 0)
        {
            w.ListHeader(ref last, 5, CompactType.Struct, KeyValueMetadata.Count);
            foreach (var kv in KeyValueMetadata)
            {
                kv.Write(w);
            }
        }

        if (CreatedBy is not null)
        {
            w.String(ref last, 6, CreatedBy);
        }

        // Column orders say that min_value/max_value follow the type's order, so readers trust our statistics.
        int leaves = Schema.Count(e => e.Type is not null);
        w.ListHeader(ref last, 7, CompactType.Struct, leaves);
        for (int i = 0; i < leaves; i++)
        {
            short orderLast = 0;
            w.FieldHeader(ref orderLast, 1, CompactType.Struct);
            w.Stop();
            w.Stop();
        }

        w.Stop();
    }
}

internal sealed class PageHeader
{
    public PageType Type { get; set; }

    public int UncompressedPageSize { get; set; }

    public int CompressedPageSize { get; set; }

    public int? Crc { get; set; }

    // data_page_header (v1) and dictionary_page_header
    public int NumValues { get; set; }

    public ColumnEncoding Encoding { get; set; }

    public ColumnEncoding DefinitionLevelEncoding { get; set; } = ColumnEncoding.Rle;

    public ColumnEncoding RepetitionLevelEncoding { get; set; } = ColumnEncoding.Rle;

    // data_page_header_v2
    public int NumNulls { get; set; }

    public int NumRows { get; set; }

    public int DefinitionLevelsByteLength { get; set; }

    public int RepetitionLevelsByteLength { get; set; }

    public bool IsCompressed { get; set; } = true;

    public Statistics? Statistics { get; set; }

    public static PageHeader Read(ref CompactReader r)
    {
        r.EnterStruct();
        var h = new PageHeader();
        bool hasType = false, hasSub = false;
        short last = 0;
        while (r.NextField(ref last, out short id, out byte type))
        {
            switch (id)
            {
                case 1: h.Type = (PageType)SchemaElement.CheckEnum(ref r, r.ReadI32(type), 3); hasType = true; break;
                case 2: h.UncompressedPageSize = r.ReadI32(type); break;
                case 3: h.CompressedPageSize = r.ReadI32(type); break;
                case 4: h.Crc = r.ReadI32(type); break;
                case 5 or 7 or 8 when type == CompactType.Struct: h.ReadSub(ref r, id); hasSub = true; break;
                default: r.Skip(type); break;
            }
        }

        r.ExitStruct();
        if (!hasType)
        {
            throw r.Error("page header has no page type");
        }

        if (h.UncompressedPageSize < 0 || h.CompressedPageSize < 0)
        {
            throw r.Error("page header has a negative page size");
        }

        if (!hasSub && h.Type != PageType.IndexPage)
        {
            throw r.Error($"page header of type {h.Type} lacks its {h.Type} header");
        }

        return h;
    }

    public void Write(CompactWriter w)
    {
        short last = 0;
        w.I32(ref last, 1, (int)Type);
        w.I32(ref last, 2, UncompressedPageSize);
        w.I32(ref last, 3, CompressedPageSize);
        short sub = 0;
        if (Type == PageType.DictionaryPage)
        {
            w.FieldHeader(ref last, 7, CompactType.Struct);
            w.I32(ref sub, 1, NumValues);
            w.I32(ref sub, 2, (int)Encoding);
        }
        else
        {
            w.FieldHeader(ref last, 5, CompactType.Struct);
            w.I32(ref sub, 1, NumValues);
            w.I32(ref sub, 2, (int)Encoding);
            w.I32(ref sub, 3, (int)DefinitionLevelEncoding);
            w.I32(ref sub, 4, (int)RepetitionLevelEncoding);
        }

        w.Stop();
        w.Stop();
    }

    private void ReadSub(ref CompactReader r, short which)
    {
        r.EnterStruct();
        short last = 0;
        while (r.NextField(ref last, out short id, out byte type))
        {
            switch (which, id)
            {
                case (5 or 7 or 8, 1): NumValues = r.ReadI32(type); break;
                case (5 or 7, 2): Encoding = (ColumnEncoding)r.ReadI32(type); break;
                case (5, 3): DefinitionLevelEncoding = (ColumnEncoding)r.ReadI32(type); break;
                case (5, 4): RepetitionLevelEncoding = (ColumnEncoding)r.ReadI32(type); break;
                case (8, 2): NumNulls = r.ReadI32(type); break;
                case (8, 3): NumRows = r.ReadI32(type); break;
                case (8, 4): Encoding = (ColumnEncoding)r.ReadI32(type); break;
                case (8, 5): DefinitionLevelsByteLength = r.ReadI32(type); break;
                case (8, 6): RepetitionLevelsByteLength = r.ReadI32(type); break;
                case (8, 7): IsCompressed = r.ReadBool(type); break;
                case (5 or 8, _) when type == CompactType.Struct && id == (which == 5 ? 5 : 8): Statistics = Statistics.Read(ref r); break;
                default: r.Skip(type); break;
            }
        }

        r.ExitStruct();
        if (NumValues < 0 || NumNulls < 0 || NumRows < 0 || DefinitionLevelsByteLength < 0 || RepetitionLevelsByteLength < 0)
        {
            throw r.Error("page header has a negative count or length");
        }
    }
}
