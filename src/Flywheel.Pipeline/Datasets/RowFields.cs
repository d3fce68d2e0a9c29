using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flywheel.Llama.Chat;

namespace Flywheel.Pipeline.Datasets;

/// <summary>Reads a row's fields with the checks every format shares; each fault raises <see cref="DatasetFormatException"/> naming the field.</summary>
internal sealed class RowFields(JsonObject row, RowLocation at)
{
    public bool Has(string field) => row[field] is not null;

    public DatasetFormatException Bad(string field, string problem) => DatasetFormatException.BadField(at, field, problem);

    /// <summary>A string that is not empty or blank.</summary>
    public string Text(string field)
    {
        string? text = OptionalString(field) ?? throw Bad(field, row.ContainsKey(field) ? "is null" : "is missing");
        return string.IsNullOrWhiteSpace(text) ? throw Bad(field, "is empty") : text;
    }

    /// <summary>A string, or null where the field is missing or null.</summary>
    public string? OptionalString(string field) => StringOf(row[field], field);

    /// <summary>A string or a number (as its JSON text: ids and answers are often written as numbers), or null where missing.</summary>
    public string? OptionalScalar(string field) => row[field] switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.ToJsonString(),
        _ => OptionalString(field),
    };

    /// <summary>A number, or null where missing.</summary>
    public double? OptionalNumber(string field) => row[field] switch
    {
        null => null,
        // Through the JSON text: values from Parquet hold int, long, float or double, which GetValue<double> does not convert.
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture),
        var other => throw Bad(field, $"must be a number, not {KindOf(other)}"),
    };

    /// <summary>A non-empty <c>[{role, content}]</c> list.</summary>
    public List<ChatMessage> Messages(string field) => row[field] switch
    {
        null => throw Bad(field, row.ContainsKey(field) ? "is null" : "is missing"),
        JsonArray { Count: 0 } => throw Bad(field, "is empty"),
        JsonArray list => [.. list.Select((m, i) => Message(m, $"{field}[{i}]"))],
        var other => throw Bad(field, $"must be a list of {{role, content}} messages, not {KindOf(other)}"),
    };

    /// <summary>A prompt given as a string (one user message) or as a message list.</summary>
    public List<ChatMessage> Prompt(string field) =>
        row[field] is JsonArray ? Messages(field) : [new ChatMessage("user", Text(field))];

    /// <summary>Checks that <paramref name="prompt"/> is something to reply to: it ends with a user message that says something.</summary>
    public void CheckPrompt(IReadOnlyList<ChatMessage> prompt, string field)
    {
        if (prompt.Count == 0)
        {
            throw Bad(field, "has no prompt messages");
        }

        if (prompt[^1].Role != "user")
        {
            throw Bad(field, $"must end its prompt with a user message, not '{prompt[^1].Role}'");
        }

        if (string.IsNullOrWhiteSpace(prompt[^1].Content))
        {
            throw Bad(field, "has an empty last user message");
        }
    }

    public static string KindOf(JsonNode? node) => node switch
    {
        null => "null",
        JsonArray => "a list",
        JsonObject => "an object",
        _ => node.GetValueKind() switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "a value",
        },
    };

    private ChatMessage Message(JsonNode? node, string path)
    {
        if (node is not JsonObject message)
        {
            throw Bad(path, $"must be a {{role, content}} object, not {KindOf(node)}");
        }

        string role = StringOf(message["role"], $"{path}.role") ?? throw Bad($"{path}.role", "is missing");
        string content = StringOf(message["content"], $"{path}.content") ?? throw Bad($"{path}.content", "is missing");
        return string.IsNullOrWhiteSpace(role) ? throw Bad($"{path}.role", "is empty") : new ChatMessage(role, content);
    }

    private string? StringOf(JsonNode? node, string path) => node switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw Bad(path, $"must be a string, not {KindOf(node)}"),
    };
}
