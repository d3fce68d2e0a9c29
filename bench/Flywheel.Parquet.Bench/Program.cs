using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using DuckDB.NET.Data;
using Flywheel.Parquet;

// Writes the same 1,000,000 SFT rows with Flywheel.Parquet (zstd) and with DuckDB's COPY TO (zstd), and prints
// rows/s, file size and memory for both. `--streaming` (run as a child) writes rows generated on the fly and reports
// the process's peak resident memory, which shows the writer's memory bounded by a row group.
int rows = ArgValue("--rows") is { } r ? int.Parse(r, CultureInfo.InvariantCulture) : 1_000_000;
string dir = ArgValue("--out") ?? Path.Combine(Path.GetTempPath(), "flywheel-parquet-bench");
Directory.CreateDirectory(dir);
var options = new ParquetSerializerOptions
{
    ColumnNaming = ColumnNaming.SnakeCase,
    Writer = new ParquetWriterOptions { Compression = ParquetCompression.Zstd, KeyValueMetadata = new Dictionary<string, string> { ["flywheel.config_hash"] = "bench" } },
};

if (args.Contains("--streaming"))
{
    var path = Path.Combine(dir, "flywheel_streaming.parquet");
    var sw = Stopwatch.StartNew();
    await ParquetSerializer.SerializeAsync(SftRows.Generate(rows).ToAsyncEnumerable(), path, options);
    Console.WriteLine(JsonSerializer.Serialize(new { seconds = sw.Elapsed.TotalSeconds, bytes = new FileInfo(path).Length, peak_mb = PeakResidentMb() }));
    return;
}

Console.WriteLine($"Generating {rows:N0} SFT rows…");
var data = SftRows.Generate(rows).ToList();
var jsonl = Path.Combine(dir, "rows.jsonl");
await using (var w = new StreamWriter(jsonl, false, new UTF8Encoding(false), 1 << 20))
{
    var json = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    foreach (var row in data)
    {
        await w.WriteLineAsync(JsonSerializer.Serialize(row, json));
    }
}

GC.Collect();
long baseline = Environment.WorkingSet;
long peak = baseline;
using var sampler = new Timer(_ => peak = Math.Max(peak, Environment.WorkingSet), null, 0, 20);
var ours = Path.Combine(dir, "flywheel.parquet");
var watch = Stopwatch.StartNew();
await ParquetSerializer.SerializeAsync(data, ours, options);
double oursSeconds = watch.Elapsed.TotalSeconds;
sampler.Change(Timeout.Infinite, Timeout.Infinite);
long oursBytes = new FileInfo(ours).Length;

var (duckSeconds, duckBytes) = DuckDbCopy(jsonl, Path.Combine(dir, "duckdb.parquet"));
var streaming = JsonDocument.Parse(Run("dotnet", typeof(SftRows).Assembly.Location, "--streaming", "--rows", rows.ToString(CultureInfo.InvariantCulture), "--out", dir)).RootElement;

Console.WriteLine();
Console.WriteLine($"| writer | seconds | rows/s | file MB | memory |");
Console.WriteLine($"| --- | ---: | ---: | ---: | --- |");
Console.WriteLine($"| Flywheel.Parquet (rows in memory) | {oursSeconds:F2} | {rows / oursSeconds:N0} | {oursBytes / 1e6:F1} | +{(peak - baseline) / 1e6:F0} MB over the rows held in memory |");
Console.WriteLine($"| Flywheel.Parquet (streaming, rows generated on the fly) | {streaming.GetProperty("seconds").GetDouble():F2} | {rows / streaming.GetProperty("seconds").GetDouble():N0} | {streaming.GetProperty("bytes").GetInt64() / 1e6:F1} | peak RSS {streaming.GetProperty("peak_mb").GetDouble():F0} MB (whole process) |");
Console.WriteLine($"| DuckDB COPY TO (zstd) | {duckSeconds:F2} | {rows / duckSeconds:N0} | {duckBytes / 1e6:F1} | (in this process, not sampled) |");
Console.WriteLine();
Console.WriteLine($"speed vs DuckDB: {duckSeconds / oursSeconds:F2}x   size vs DuckDB: {(double)oursBytes / duckBytes:F3}x");

static string? ArgValue(string name) => Array.IndexOf(Environment.GetCommandLineArgs(), name) is var i and >= 0 && i + 1 < Environment.GetCommandLineArgs().Length ? Environment.GetCommandLineArgs()[i + 1] : null;

static double PeakResidentMb()
{
    var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
    return line is null ? double.NaN : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
}

static string Run(string exe, params string[] arguments)
{
    var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, UseShellExecute = false };
    foreach (var a in arguments)
    {
        psi.ArgumentList.Add(a);
    }

    using var p = Process.Start(psi)!;
    var output = p.StandardOutput.ReadToEnd();
    p.WaitForExit();
    return p.ExitCode == 0 ? output.Trim().Split('\n')[^1] : throw new InvalidOperationException($"{exe} failed with {p.ExitCode}");
}

// DuckDB in process (DuckDB.NET): loads the rows into an in-memory table (not timed), then times COPY TO with zstd.
static (double Seconds, long Bytes) DuckDbCopy(string jsonl, string output)
{
    using var connection = new DuckDBConnection("DataSource=:memory:");
    connection.Open();
    static string Quote(string s) => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'";
    void Execute(string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    Execute($$"""
        CREATE TABLE sft AS SELECT * FROM read_json({{Quote(jsonl)}}, format = 'newline_delimited', columns = {
          messages: 'STRUCT(role VARCHAR, content VARCHAR)[]', prompt_id: 'VARCHAR', prompt: 'VARCHAR', completion: 'VARCHAR',
          reward: 'DOUBLE', rank: 'INTEGER', round: 'INTEGER', policy: 'VARCHAR', reward_model: 'VARCHAR'})
        """);
    var watch = Stopwatch.StartNew();
    Execute($"COPY sft TO {Quote(output)} (FORMAT parquet, COMPRESSION zstd)");
    return (watch.Elapsed.TotalSeconds, new FileInfo(output).Length);
}

internal sealed record Message(string Role, string Content);

internal sealed class SftRow
{
    public required List<Message> Messages { get; init; }

    public required string PromptId { get; init; }

    public required string Prompt { get; init; }

    public required string Completion { get; init; }

    public double Reward { get; init; }

    public int Rank { get; init; }

    public int Round { get; init; }

    public required string Policy { get; init; }

    public required string RewardModel { get; init; }
}

/// <summary>Deterministic SFT rows: four completions (~500 chars) per prompt (~200 chars), words from a 4,096-word vocabulary.</summary>
internal static class SftRows
{
    private const string System = "You are a helpful, honest and harmless assistant.";

    private static readonly string[] Vocabulary = BuildVocabulary();

    public static IEnumerable<SftRow> Generate(int count)
    {
        var rng = new Random(42);
        string prompt = "";
        for (int i = 0; i < count; i++)
        {
            if (i % 4 == 0)
            {
                prompt = Text(rng, 200);
            }

            var completion = Text(rng, 500);
            yield return new SftRow
            {
                Messages = [new("system", System), new("user", prompt), new("assistant", completion)],
                PromptId = $"prompt-{i / 4:D7}",
                Prompt = prompt,
                Completion = completion,
                Reward = Math.Round((rng.NextDouble() * 6) - 3, 4),
                Rank = i % 4,
                Round = 1 + (i / 250_000),
                Policy = "llama-3.1-8b-instruct-r" + (1 + (i / 250_000)),
                RewardModel = "rm-r" + (1 + (i / 250_000)),
            };
        }
    }

    private static string Text(Random rng, int length)
    {
        var sb = new StringBuilder(length + 16);
        while (sb.Length < length)
        {
            // A Zipf-like pick: common words are much more frequent, as in real text.
            int index = (int)(Vocabulary.Length * Math.Pow(rng.NextDouble(), 3));
            sb.Append(Vocabulary[index]).Append(' ');
        }

        return sb.ToString(0, length);
    }

    private static string[] BuildVocabulary()
    {
        var rng = new Random(7);
        return [.. Enumerable.Range(0, 4096).Select(_ => new string([.. Enumerable.Range(0, 2 + rng.Next(9)).Select(_ => (char)('a' + rng.Next(26)))]))];
    }
}
