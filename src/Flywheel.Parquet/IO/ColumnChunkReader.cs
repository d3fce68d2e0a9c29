using System.Buffers.Binary;
using Flywheel.Parquet.Compression;
using Flywheel.Parquet.Encodings;
using Flywheel.Parquet.Thrift;

namespace Flywheel.Parquet.IO;

/// <summary>Decodes one column chunk, page by page, into its levels and values.</summary>
internal static class ColumnChunkReader
{
    // A page's declared sizes and counts are checked against its stored bytes before anything is allocated:
    // no codec here expands data more than this, and no encoding packs more values per byte (RLE runs aside,
    // which writers cut into pages far below this).
    private const long MaxExpansion = 4096;
    private const long ValuesPerByte = 2048;
    private const long Slack = 1 << 20;

    /// <param name="chunk">The chunk's bytes, from its first page to its end.</param>
    /// <param name="chunkOffset">Where <paramref name="chunk"/> starts in the file.</param>
    public static ColumnData Read(byte[] chunk, long chunkOffset, ParquetField leaf, ColumnMetaData meta, long rowCount)
    {
        var column = ValueConverters.Create(leaf, chunkOffset);
        long pageOffset = chunkOffset;
        try
        {
            int pos = 0;
            long levels = 0;
            bool sawData = false;
            while (levels < meta.NumValues)
            {
                pageOffset = chunkOffset + pos;
                if (pos >= chunk.Length)
                {
                    throw new InvalidDataException($"column chunk ends after {levels} of its {meta.NumValues} values");
                }

                var reader = new CompactReader(chunk.AsSpan(pos), pageOffset);
                var header = PageHeader.Read(ref reader);
                int bodyStart = pos + reader.Position;
                if (header.CompressedPageSize > chunk.Length - bodyStart)
                {
                    throw new InvalidDataException($"page of {header.CompressedPageSize} bytes runs past its column chunk");
                }

                var body = chunk.AsMemory(bodyStart, header.CompressedPageSize);
                if (header.Crc is { } crc && Crc32.Compute(body.Span) != (uint)crc)
                {
                    throw new InvalidDataException("page checksum does not match its contents");
                }

                switch (header.Type)
                {
                    case PageType.DictionaryPage:
                        if (sawData)
                        {
                            throw new InvalidDataException("dictionary page after data pages");
                        }

                        ReadDictionary(header, body, meta.Codec, column);
                        break;
                    case PageType.DataPage:
                    case PageType.DataPageV2:
                        CheckCount(header.NumValues, header.UncompressedPageSize + (long)header.CompressedPageSize);
                        if (header.NumValues > meta.NumValues - levels)
                        {
                            throw new InvalidDataException($"page holds {header.NumValues} values, more than its column chunk's {meta.NumValues - levels} left");
                        }

                        if (header.Type == PageType.DataPage)
                        {
                            ReadDataPageV1(header, body, meta.Codec, column);
                        }
                        else
                        {
                            ReadDataPageV2(header, body, meta.Codec, column);
                        }

                        levels += header.NumValues;
                        sawData = true;
                        break;
                }

                pos = bodyStart + header.CompressedPageSize;
            }

            pageOffset = chunkOffset;
            CheckRows(column, rowCount);
            return column;
        }
        catch (ParquetFormatException e)
        {
            throw e.InColumn(leaf.Path);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or OverflowException or IndexOutOfRangeException or ArgumentException or NotSupportedException)
        {
            throw new ParquetFormatException(e.Message, leaf.Path, pageOffset, e);
        }
    }

    private static void CheckCount(long count, long bytes)
    {
        if (count < 0 || count > Slack + (bytes * ValuesPerByte))
        {
            throw new InvalidDataException($"page claims {count} values in {bytes} bytes");
        }
    }

    private static void CheckRows(ColumnData column, long rowCount)
    {
        long rows = 0;
        if (column.Leaf.MaxRepetitionLevel == 0)
        {
            rows = column.Definition.Count;
        }
        else
        {
            var rep = column.Repetition.Items.AsSpan(0, column.Repetition.Count);
            if (rep.Length > 0 && rep[0] != 0)
            {
                throw new InvalidDataException("the first repetition level of the column chunk is not 0");
            }

            rows = rep.Count(0);
        }

        if (rows != rowCount)
        {
            throw new InvalidDataException($"column chunk holds {rows} rows, its row group {rowCount}");
        }
    }

    private static byte[] Decompress(ParquetCompression codec, ReadOnlyMemory<byte> source, int uncompressedSize)
    {
        if (uncompressedSize > Slack + (source.Length * MaxExpansion))
        {
            throw new InvalidDataException($"page claims to expand from {source.Length} to {uncompressedSize} bytes");
        }

        var output = new byte[uncompressedSize];
        if (uncompressedSize > 0 || source.Length > 0)
        {
            Codecs.Decompress(codec, source, output);
        }

        return output;
    }

    private static void ReadDictionary(PageHeader header, ReadOnlyMemory<byte> body, ParquetCompression codec, ColumnData column)
    {
        if (header.Encoding is not (ColumnEncoding.Plain or ColumnEncoding.PlainDictionary))
        {
            throw new InvalidDataException($"dictionary page encoding {header.Encoding} is not PLAIN");
        }

        CheckCount(header.NumValues, header.UncompressedPageSize);
        var data = Decompress(codec, body, header.UncompressedPageSize);
        column.LoadDictionary(data, header.NumValues);
    }

    private static void ReadDataPageV1(PageHeader header, ReadOnlyMemory<byte> body, ParquetCompression codec, ColumnData column)
    {
        var data = Decompress(codec, body, header.UncompressedPageSize).AsSpan();
        var leaf = column.Leaf;
        int n = header.NumValues;
        int pos = ReadLevels(data, header.RepetitionLevelEncoding, leaf.MaxRepetitionLevel, column.Repetition.Append(n), prefixed: true);
        pos += ReadLevels(data[pos..], header.DefinitionLevelEncoding, leaf.MaxDefinitionLevel, column.Definition.Append(n), prefixed: true);
        ReadValues(column, header.Encoding, data[pos..], n);
    }

    private static void ReadDataPageV2(PageHeader header, ReadOnlyMemory<byte> body, ParquetCompression codec, ColumnData column)
    {
        long levelBytes = (long)header.RepetitionLevelsByteLength + header.DefinitionLevelsByteLength;
        if (levelBytes > body.Length || levelBytes > header.UncompressedPageSize)
        {
            throw new InvalidDataException("page levels are longer than the page");
        }

        var leaf = column.Leaf;
        int n = header.NumValues;
        var span = body.Span;
        int repLength = header.RepetitionLevelsByteLength;
        ReadLevels(span[..repLength], ColumnEncoding.Rle, leaf.MaxRepetitionLevel, column.Repetition.Append(n), prefixed: false);
        ReadLevels(span.Slice(repLength, header.DefinitionLevelsByteLength), ColumnEncoding.Rle, leaf.MaxDefinitionLevel, column.Definition.Append(n), prefixed: false);
        var values = body[(int)levelBytes..];
        int valuesSize = header.UncompressedPageSize - (int)levelBytes;
        var data = header.IsCompressed && codec != ParquetCompression.Uncompressed
            ? Decompress(codec, values, valuesSize)
            : values.Length == valuesSize ? values.ToArray() : throw new InvalidDataException("uncompressed page size does not match its data");
        ReadValues(column, header.Encoding, data, n);
    }

    private static void ReadValues(ColumnData column, ColumnEncoding encoding, ReadOnlySpan<byte> data, int levelCount)
    {
        var def = column.Definition.Items.AsSpan(column.Definition.Count - levelCount, levelCount);
        int max = column.Leaf.MaxDefinitionLevel;
        int present = max == 0 ? levelCount : def.Count(max);
        column.AppendValues(encoding, data, present);
    }

    /// <summary>Decodes one page's levels into <paramref name="output"/>; returns the bytes consumed.</summary>
    private static int ReadLevels(ReadOnlySpan<byte> data, ColumnEncoding encoding, int maxLevel, Span<int> output, bool prefixed)
    {
        if (maxLevel == 0)
        {
            output.Clear();
            return 0;
        }

        int bitWidth = RleHybrid.BitWidth(maxLevel);
        int used;
        if (encoding == ColumnEncoding.BitPacked)
        {
            used = RleHybrid.DecodeBitPackedMsb(data, bitWidth, output);
        }
        else if (encoding == ColumnEncoding.Rle)
        {
            if (prefixed)
            {
                if (data.Length < 4)
                {
                    throw new InvalidDataException("levels are cut off");
                }

                int length = BinaryPrimitives.ReadInt32LittleEndian(data);
                if (length < 0 || length > data.Length - 4)
                {
                    throw new InvalidDataException($"levels length {length} runs past the page");
                }

                RleHybrid.Decode(data.Slice(4, length), bitWidth, output);
                used = 4 + length;
            }
            else
            {
                RleHybrid.Decode(data, bitWidth, output);
                used = data.Length;
            }
        }
        else
        {
            throw new InvalidDataException($"level encoding {encoding} is not supported");
        }

        if (output.ContainsAnyExceptInRange(0, maxLevel))
        {
            throw new InvalidDataException($"a level exceeds its maximum of {maxLevel}");
        }

        return used;
    }
}
