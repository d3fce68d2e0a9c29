using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flywheel.Llama.Chat;

namespace Flywheel.Pipeline.Datasets;

/// <summary>How the rows of a file to score are laid out, told from its first row.</summary>
internal enum ScoreRowLayout
{
    /// <summary><c>prompt</c> (a string or a message list; <c>prompt_messages</c> where present) and <c>response</c> or <c>completion</c>.</summary>
    PromptResponse,

    /// <summary>A <c>messages</c> list ending with the assistant's reply.</summary>
    Messages,

    /// <summary>A preference pair in any layout <see cref="PairRowParser"/> reads.</summary>
    Pair,
}

/// <summary>
/// A row to score: one reply to a prompt, or a preference pair (<see cref="Rejected"/> set). Where the row carries
/// the tokens a sampler fed and produced (<c>prompt_token_ids</c> and <c>token_ids</c> or <c>completion_token_ids</c>,
/// as candidates.parquet and sft.parquet do), they come along, so a reward model of the same vocabulary can score
/// exactly those tokens.
/// </summary>
internal sealed record ScoreInput(IReadOnlyList<ChatMessage> Prompt, string Reply, string? Rejected, int[]? PromptTokens, int[]? ReplyTokens);

/// <summary>Turns rows of a file to score into <see cref="ScoreInput"/>s; the layout is the first row's and holds for the file.</summary>
internal sealed class ScoreRowParser : IRowParser<ScoreInput>
{
    private readonly PairRowParser _pairs = new(PairFormat.Auto);
    private ScoreRowLayout? _layout;

    public ScoreRowLayout? Layout => _layout;

    public ScoreInput Parse(JsonObject obj, RowLocation at)
    {
        _layout ??= obj["chosen"] is not null || obj["rejected"] is not null ? ScoreRowLayout.Pair
            : obj["messages"] is not null ? ScoreRowLayout.Messages
            : ScoreRowLayout.PromptResponse;
        var row = new RowFields(obj, at);
        switch (_layout)
        {
            case ScoreRowLayout.Pair:
                var pair = _pairs.Parse(obj, at);
                return new ScoreInput(pair.Prompt, pair.Chosen, pair.Rejected, null, null);
            case ScoreRowLayout.Messages:
                var messages = row.Messages("messages");
                if (messages[^1].Role != "assistant") throw row.Bad("messages", $"must end with an assistant message, not '{messages[^1].Role}'");
                var before = messages[..^1];
                row.CheckPrompt(before, "messages");
                return WithTokens(obj, row, before, messages[^1].Content);
            default:
                string promptField = row.Has("prompt_messages") ? "prompt_messages" : "prompt";
                var prompt = row.Prompt(promptField);
                row.CheckPrompt(prompt, promptField);
                string replyField = row.Has("response") || !row.Has("completion") ? "response" : "completion";
                return WithTokens(obj, row, prompt, row.Text(replyField));
        }
    }

    private static ScoreInput WithTokens(JsonObject obj, RowFields row, IReadOnlyList<ChatMessage> prompt, string reply)
    {
        string replyField = row.Has("completion_token_ids") && !row.Has("token_ids") ? "completion_token_ids" : "token_ids";
        int[]? promptTokens = TokenIds(obj, row, "prompt_token_ids");
        int[]? replyTokens = TokenIds(obj, row, replyField);
        if ((promptTokens is null) != (replyTokens is null))
            throw row.Bad(promptTokens is null ? "prompt_token_ids" : replyField, "is missing (token ids are used only as a pair of prompt and reply tokens)");
        return new ScoreInput(prompt, reply, null, promptTokens, replyTokens);
    }

    private static int[]? TokenIds(JsonObject obj, RowFields row, string field) => obj[field] switch
    {
        null => null,
        JsonArray list => [.. list.Select((t, i) => t is JsonValue v && v.GetValueKind() == JsonValueKind.Number && int.TryParse(v.ToJsonString(), NumberStyles.None, CultureInfo.InvariantCulture, out int id)
            ? id
            : throw row.Bad($"{field}[{i}]", $"must be a token id (a non-negative integer), not {RowFields.KindOf(t)}"))],
        var other => throw row.Bad(field, $"must be a list of token ids, not {RowFields.KindOf(other)}"),
    };
}
