using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Flywheel.Cli.Inspect;

/// <summary>The fields and first rows of a JSON-lines file (gzipped or not).</summary>
internal static class JsonlInspector
{
    public static async Task ShowAsync(CliConsole console, string path, int rows, bool json, CancellationToken ct)
    {
        await using var file = File.OpenRead(path);
        Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(stream);
        var shown = new List<JsonObject>();
        var fields = new SortedSet<string>(StringComparer.Ordinal);
        long count = 0;
        int lineNo = 0;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonObject row;
            try
            {
                row = JsonNode.Parse(line) as JsonObject ?? throw new JsonException("not a JSON object");
            }
            catch (JsonException e)
            {
                throw new UsageException($"{path}:{lineNo}: not a JSON object ({e.Message.Split('.')[0]})", e);
            }
            count++;
            foreach (var (key, _) in row) fields.Add(key);
            if (json && (rows == 0 || count <= rows)) console.Out.WriteLine(row.ToJsonString(CliConsole.Json));
            else if (!json && count <= rows) shown.Add(row);
        }
        if (json) return;
        console.Ansi.MarkupLine($"[bold]{Markup.Escape(path)}[/]: {count:N0} rows; fields: {Markup.Escape(string.Join(", ", fields))}");
        var table = new Table();
        foreach (var f in fields) table.AddColumn(Markup.Escape(f));
        foreach (var row in shown)
            table.AddRow(fields.Select(f => Markup.Escape(Abbreviate(row[f]?.ToJsonString(CliConsole.Json) ?? "null"))).ToArray());
        console.Ansi.Write(table);
    }

    private static string Abbreviate(string s) => s.Length <= 60 ? s : s[..57] + "…";
}
