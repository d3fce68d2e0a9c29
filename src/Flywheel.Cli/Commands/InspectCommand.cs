using System.CommandLine;
using Flywheel.Cli.Inspect;

namespace Flywheel.Cli.Commands;

/// <summary>`flywheel inspect FILE [--rows N] [--json] [--tokenize TEXT]`.</summary>
internal static class InspectCommand
{
    public static Command Create(CliConsole console)
    {
        var file = new Argument<FileInfo>("file") { Description = "a .parquet, .jsonl (or .jsonl.gz) or .gguf file" };
        var rows = new Option<int>("--rows") { Description = "rows to show (0: all, with --json)", DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json") { Description = "machine-readable output: JSON (rows as JSON lines)" };
        var tokenize = new Option<string?>("--tokenize") { Description = "print the token ids a .gguf's vocabulary gives TEXT (no BOS/EOS added, special tokens not parsed)" };
        var command = new Command("inspect", "Show the schema and first rows of a .parquet or .jsonl file, or the metadata and tensors of a .gguf")
        {
            file, rows, json, tokenize,
        };
        command.SetAction((parse, ct) =>
        {
            var path = parse.GetRequiredValue(file);
            if (!path.Exists) throw new UsageException($"{path.FullName}: file not found");
            int n = parse.GetValue(rows);
            if (n < 0) throw new UsageException($"--rows must be ≥ 0, got {n}");
            bool asJson = parse.GetValue(json);
            string? text = parse.GetValue(tokenize);
            string name = path.Name.ToLowerInvariant();
            if (text is not null && !name.EndsWith(".gguf", StringComparison.Ordinal))
                throw new UsageException($"--tokenize needs a .gguf file, not {path.Name}");
            if (name.EndsWith(".gguf", StringComparison.Ordinal))
            {
                try
                {
                    if (text is not null) GgufInspector.Tokenize(console, path.FullName, text, asJson);
                    else GgufInspector.Show(console, path.FullName, asJson);
                }
                catch (Llama.LlamaException e)
                {
                    throw new UsageException(e.Message, e); // the file the user named is not a model llama.cpp can read
                }
            }
            else if (name.EndsWith(".parquet", StringComparison.Ordinal))
            {
                return ParquetInspector.ShowAsync(console, path.FullName, n, asJson, ct);
            }
            else if (name.EndsWith(".jsonl", StringComparison.Ordinal) || name.EndsWith(".jsonl.gz", StringComparison.Ordinal))
            {
                return JsonlInspector.ShowAsync(console, path.FullName, n, asJson, ct);
            }
            else
            {
                throw new UsageException($"{path.Name}: unknown file type; inspect reads .parquet, .jsonl, .jsonl.gz and .gguf");
            }
            return Task.CompletedTask;
        });
        return command;
    }
}
