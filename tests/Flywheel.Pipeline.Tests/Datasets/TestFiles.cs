using System.IO.Compression;
using System.Text;
using Flywheel.Parquet;

namespace Flywheel.Pipeline.Tests.Datasets;

/// <summary>Test data: the copies under TestData/, the shared corpora at ../shared/data, and files written per test.</summary>
internal static class TestFiles
{
    private static readonly string Root = Directory.CreateTempSubdirectory("flywheel-pipeline-tests-").FullName;

    public static string Data(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    /// <summary>A file of the shared corpora (../shared/data beside the repository); it may be absent.</summary>
    public static string Shared(params string[] parts) => Path.Combine([FindRepoRoot(), "..", "shared", "data", .. parts]);

    public static string MissingMessage(string path) => $"Shared data not found at {path} (the corpora sit at ../shared/data beside the repository).";

    /// <summary>A path named <paramref name="name"/> in a folder of its own, so that messages naming the file are predictable.</summary>
    public static string NewPath(string name) => Path.Combine(Directory.CreateDirectory(Path.Combine(Root, Guid.NewGuid().ToString("N"))).FullName, name);

    public static string WriteLines(string name, params string[] lines)
    {
        string path = NewPath(name);
        File.WriteAllText(path, string.Concat(lines.Select(l => l + "\n")), new UTF8Encoding(false));
        return path;
    }

    public static string WriteGzipLines(string name, IEnumerable<string> lines)
    {
        string path = NewPath(name);
        using var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest);
        using var writer = new StreamWriter(gzip, new UTF8Encoding(false));
        foreach (string line in lines)
        {
            writer.Write(line);
            writer.Write('\n');
        }

        return path;
    }

    /// <summary>A Parquet file of dictionary rows (lists as arrays, structs as dictionaries) under a declared schema.</summary>
    public static async Task<string> WriteParquetAsync(string name, ParquetSchema schema, params IReadOnlyDictionary<string, object?>[] rows)
    {
        string path = NewPath(name);
        await using var writer = ParquetWriter.Create(path, schema);
        foreach (var row in rows)
        {
            await writer.WriteRowAsync(row);
        }

        await writer.CompleteAsync();
        return path;
    }

    public static string[] ReadGzipLines(string path)
    {
        using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
        return reader.ReadToEnd().Split('\n');
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Flywheel.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Flywheel.sln not found above " + AppContext.BaseDirectory);
    }
}
