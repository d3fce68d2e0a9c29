using System.Text.Json.Nodes;
using Flywheel.Llama.Chat;

namespace Flywheel.Pipeline.Datasets;

/// <summary>Turns rows into <see cref="PromptRecord"/>s, one file at a time, keeping the ids seen so that a repeated id is caught.</summary>
internal sealed class PromptRowParser(PromptFormat format, string? systemPrompt, string fileStem, Func<PromptRecord, string?>? check) : IRowParser<PromptRecord>
{
    private readonly Dictionary<string, long> _seen = new(StringComparer.Ordinal);
    private PromptFormat _format = format;

    public static IReadOnlyCollection<string> Columns { get; } = ["id", "prompt", "messages", "question", "answer"];

    public PromptRecord Parse(JsonObject obj, RowLocation at)
    {
        if (_format == PromptFormat.Auto)
        {
            _format = obj["messages"] is not null ? PromptFormat.Messages
                : obj["question"] is not null && obj["prompt"] is null ? PromptFormat.Gsm8k
                : PromptFormat.Prompt;
        }

        var row = new RowFields(obj, at);
        string field = _format switch
        {
            PromptFormat.Messages => "messages",
            PromptFormat.Gsm8k => "question",
            _ => "prompt",
        };
        var messages = _format == PromptFormat.Messages ? row.Messages(field) : row.Prompt(field);
        row.CheckPrompt(messages, field);
        string? answer = row.OptionalScalar("answer");

        // Ids feed seeds and resumption, so the default must not change between runs: the file's name and row number.
        string id = row.OptionalScalar("id") ?? $"{fileStem}-{at.Number}";
        if (string.IsNullOrWhiteSpace(id))
        {
            throw row.Bad("id", "is empty");
        }

        if (!_seen.TryAdd(id, at.Number))
        {
            throw row.Bad("id", $"repeats '{id}' (first at {(at.IsParquetRow ? "row " : "line ")}{_seen[id]})");
        }

        if (!string.IsNullOrWhiteSpace(systemPrompt) && messages[0].Role != "system")
        {
            messages.Insert(0, new ChatMessage("system", systemPrompt));
        }

        var prompt = new PromptRecord(id, messages, answer);
        if (check?.Invoke(prompt) is { } reason)
        {
            throw new DatasetFormatException(at.ToString(), null, reason);
        }

        return prompt;
    }

    /// <summary>A file's name without its extensions ("test" for test.jsonl.gz), the stem of default ids.</summary>
    public static string StemOf(string path)
    {
        string name = Path.GetFileName(path);
        if (name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            name = name[..^3];
        }

        return Path.GetFileNameWithoutExtension(name);
    }
}
