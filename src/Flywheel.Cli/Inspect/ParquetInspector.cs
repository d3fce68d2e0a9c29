using Flywheel.Parquet;
using Spectre.Console;

namespace Flywheel.Cli.Inspect;

/// <summary>Schema, row groups, key-value metadata and first rows of a Parquet file.</summary>
internal static class ParquetInspector
{
    public static async Task ShowAsync(CliConsole console, string path, int rows, bool json, CancellationToken ct)
    {
        try
        {
            await ShowCheckedAsync(console, path, rows, json, ct);
        }
        catch (ParquetFormatException e)
        {
            throw new UsageException($"{path}: {e.Message}", e);
        }
    }

    private static async Task ShowCheckedAsync(CliConsole console, string path, int rows, bool json, CancellationToken ct)
    {
        await using var reader = await ParquetReader.OpenAsync(path, ct);
        var read = new ParquetReadOptions { MaxRows = rows };
        if (json)
        {
            await foreach (var row in reader.ReadJsonAsync(read, ct)) console.Out.WriteLine(row.ToJsonString(CliConsole.Json));
            return;
        }
        var ansi = console.Ansi;
        ansi.MarkupLine($"[bold]{Markup.Escape(path)}[/]: {reader.RowCount:N0} rows in {reader.RowGroups.Count} row groups; created by {Markup.Escape(reader.CreatedBy ?? "?")}");
        ansi.WriteLine(reader.Schema.ToString());
        if (reader.KeyValueMetadata.Count > 0)
        {
            var kv = new Table().AddColumns("key", "value");
            foreach (var (key, value) in reader.KeyValueMetadata) kv.AddRow(Markup.Escape(key), Markup.Escape(Abbreviate(value ?? "null", 100)));
            ansi.Write(kv);
        }
        var shown = new List<System.Text.Json.Nodes.JsonObject>();
        await foreach (var row in reader.ReadJsonAsync(read, ct)) shown.Add(row);
        if (shown.Count == 0) return;
        var table = new Table();
        var columns = shown[0].Select(kv => kv.Key).ToList();
        foreach (var c in columns) table.AddColumn(Markup.Escape(c));
        foreach (var row in shown)
            table.AddRow(columns.Select(c => Markup.Escape(Abbreviate(row[c]?.ToJsonString(CliConsole.Json) ?? "null", 60))).ToArray());
        ansi.Write(table);
    }

    private static string Abbreviate(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}
