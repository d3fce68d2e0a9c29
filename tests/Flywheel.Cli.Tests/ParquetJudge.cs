using DuckDB.NET.Data;

namespace Flywheel.Cli.Tests;

/// <summary>DuckDB, in process through DuckDB.NET, as an independent reader of the Parquet files a run writes.</summary>
internal static class ParquetJudge
{
    /// <summary>The rows of <c>SELECT <paramref name="select"/> FROM read_parquet(file) <paramref name="clauses"/></c>, as DuckDB.NET hands them over.</summary>
    public static List<object?[]> DuckDb(string file, string select, string clauses = "")
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {select} FROM read_parquet('{file.Replace("'", "''", StringComparison.Ordinal)}') {clauses}";
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            rows.Add([.. Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? null : reader.GetValue(i))]);
        }

        return rows;
    }
}
