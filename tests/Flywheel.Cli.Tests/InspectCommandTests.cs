using System.Text.Json;
using Flywheel.Llama.Gguf;

namespace Flywheel.Cli.Tests;

public class InspectCommandTests
{
    [Fact]
    public async Task Inspect_gguf_shows_metadata_and_tensors_as_json()
    {
        string path = Path.Combine(CliRunner.TempDir(), "m.gguf");
        TinyLlama.Create(path, new TinyLlamaOptions { Hyperparameters = new LlamaHyperparameters { EmbeddingLength = 16, Layers = 1, Heads = 2, KvHeads = 1, FeedForwardLength = 16 } });
        var r = await CliRunner.RunAsync("inspect", path, "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Out);
        Assert.Equal("llama", doc.RootElement.GetProperty("metadata").GetProperty("general.architecture").GetString());
        var tensors = doc.RootElement.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(12, tensors.Count);
        Assert.Contains(tensors, t => t.GetProperty("name").GetString() == "blk.0.attn_k.weight" && t.GetProperty("shape")[1].GetInt32() == 8);

        var table = await CliRunner.RunAsync("inspect", path);
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("token_embd.weight", table.Out);
        Assert.Contains("tokenizer.ggml.tokens", table.Out);
    }

    [Fact]
    public async Task Tokenize_prints_the_ids_llama_cpp_expects()
    {
        // "Hello world" in Llama 3's vocabulary, as llama.cpp's tokenizer test expects it.
        var r = await CliRunner.RunAsync("inspect", CliRunner.Vocab("ggml-vocab-llama-bpe.gguf"), "--tokenize", "Hello world");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("9906 1917", r.Out.Trim());
    }

    [Theory]
    [InlineData("/nonexistent/x.gguf", "x.gguf: file not found")]
    [InlineData("README.any", "unknown file type")]
    public async Task Bad_input_exits_2_with_one_line(string file, string expected)
    {
        string path = file.StartsWith('/') ? file : Path.Combine(CliRunner.TempDir(), file);
        if (!file.StartsWith('/')) await File.WriteAllTextAsync(path, "x");
        var r = await CliRunner.RunAsync("inspect", path);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(expected, r.Error);
        Assert.Single(r.Error.TrimEnd().Split('\n'));
    }

    [Fact]
    public async Task A_corrupt_gguf_and_a_bad_jsonl_line_name_the_place()
    {
        string dir = CliRunner.TempDir();
        string gguf = Path.Combine(dir, "bad.gguf");
        await File.WriteAllBytesAsync(gguf, [0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0, 1]);
        var r = await CliRunner.RunAsync("inspect", gguf);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("bad.gguf: not a valid GGUF file at byte 8", r.Error);

        string jsonl = Path.Combine(dir, "rows.jsonl");
        await File.WriteAllLinesAsync(jsonl, ["{\"a\": 1}", "{\"a\": 2", "{\"a\": 3}"]);
        r = await CliRunner.RunAsync("inspect", jsonl);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("rows.jsonl:2:", r.Error);
    }

    [Fact]
    public async Task Unknown_options_are_bad_usage()
    {
        var r = await CliRunner.RunAsync("inspect", "a.gguf", "--rows", "many");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--help", r.Error);
    }
}

public class InspectParquetTests
{
    private sealed record Row(long Id, string Prompt, IReadOnlyList<string> Tags);

    [Fact]
    public async Task Inspect_parquet_prints_rows_as_json_lines_and_the_schema_as_a_table()
    {
        string path = Path.Combine(CliRunner.TempDir(), "rows.parquet");
        var rows = Enumerable.Range(0, 10).Select(i => new Row(i, $"prompt ü {i}", i % 2 == 0 ? ["a", "b"] : []));
        await Flywheel.Parquet.ParquetSerializer.SerializeAsync(rows, path);
        var r = await CliRunner.RunAsync("inspect", path, "--json", "--rows", "0");
        Assert.Equal(0, r.ExitCode);
        var lines = r.Out.Trim().Split('\n');
        Assert.Equal(10, lines.Length);
        Assert.Equal("{\"Id\":3,\"Prompt\":\"prompt ü 3\",\"Tags\":[]}", lines[3]);
        var three = await CliRunner.RunAsync("inspect", path, "--json", "--rows", "3");
        Assert.Equal(3, three.Out.Trim().Split('\n').Length);
        var table = await CliRunner.RunAsync("inspect", path);
        Assert.Contains("10 rows", table.Out);
        Assert.Contains("Tags (LIST)", table.Out);
    }

    [Fact]
    public async Task A_corrupt_parquet_file_exits_2_naming_the_file_column_and_offset()
    {
        string path = Path.Combine(CliRunner.TempDir(), "bad.parquet");
        await Flywheel.Parquet.ParquetSerializer.SerializeAsync(Enumerable.Range(0, 100).Select(i => new Row(i, new string('x', 50), ["t"])), path);
        var bytes = await File.ReadAllBytesAsync(path);
        await File.WriteAllBytesAsync(path, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        var r = await CliRunner.RunAsync("inspect", path);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("bad.parquet", r.Error);
    }
}
