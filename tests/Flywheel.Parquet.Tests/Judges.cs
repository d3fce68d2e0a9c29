namespace Flywheel.Parquet.Tests;

/// <summary>
/// The independent Parquet readers that judge ours, both in process from NuGet: DuckDB (DuckDB.NET, a database
/// engine's own Parquet reader) and ParquetSharp (Apache Arrow's C++ reader). Each reads a file into canonical JSON
/// lines (<see cref="Canon"/>) and throws where it cannot read it; a judge whose native library does not load fails
/// the tests that use it.
/// </summary>
internal static class Judges
{
    public static readonly IReadOnlyList<(string Name, Func<string, List<string>> Read)> All =
    [
        ("DuckDB", DuckDbJudge.Read),
        ("ParquetSharp", ParquetSharpJudge.Read),
    ];
}
