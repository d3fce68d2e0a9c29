using System.Text.Json.Nodes;
using Flywheel.Llama.Chat;

namespace Flywheel.Pipeline.Datasets;

/// <summary>Turns rows into <see cref="PreferencePair"/>s, one file at a time (the format, where automatic, is told from its first row).</summary>
internal sealed class PairRowParser(PairFormat format) : IRowParser<PreferencePair>
{
    private PairFormat _format = format;

    public static IReadOnlyCollection<string> Columns { get; } = ["prompt", "system", "chosen", "rejected", "margin", "score_chosen", "score_rejected"];

    public PreferencePair Parse(JsonObject obj, RowLocation at)
    {
        if (_format == PairFormat.Auto)
        {
            _format = obj["chosen"] is JsonArray ? PairFormat.ChatMessages : obj["prompt"] is not null ? PairFormat.PromptChosenRejected : PairFormat.HhRlhf;
        }

        var row = new RowFields(obj, at);
        var (prompt, chosen, rejected) = _format switch
        {
            PairFormat.HhRlhf => HhRlhfTranscript.Split(row),
            PairFormat.ChatMessages => FromMessages(row),
            _ => FromStrings(row),
        };
        if (chosen.Trim() == rejected.Trim())
        {
            throw row.Bad("rejected", "is the same as 'chosen'");
        }

        return new PreferencePair(prompt, chosen, rejected, Margin(row), at.ToString());
    }

    private static (List<ChatMessage>, string, string) FromStrings(RowFields row)
    {
        var prompt = row.Prompt("prompt");
        if (row.OptionalString("system") is { } system && !string.IsNullOrWhiteSpace(system))
        {
            prompt.Insert(0, new ChatMessage("system", system));
        }

        row.CheckPrompt(prompt, "prompt");
        return (prompt, row.Text("chosen"), row.Text("rejected"));
    }

    /// <summary>
    /// Both lists end with the assistant's reply; what comes before it must be the same in both. A separate
    /// <c>prompt</c> (TRL's explicit-prompt layout) comes first, unless the lists already start with it (UltraFeedback
    /// repeats the prompt string as the first user message).
    /// </summary>
    private static (List<ChatMessage>, string, string) FromMessages(RowFields row)
    {
        string chosen = Reply(row, "chosen", out var prefix);
        string rejected = Reply(row, "rejected", out var rejectedPrefix);
        if (!prefix.SequenceEqual(rejectedPrefix))
        {
            throw row.Bad("rejected", "differs from 'chosen' before the last assistant message");
        }

        string field = "chosen";
        if (row.Has("prompt"))
        {
            var given = row.Prompt("prompt");
            if (!prefix.Take(given.Count).SequenceEqual(given))
            {
                field = prefix.Count == 0 ? "prompt" : field;
                prefix = [.. given, .. prefix];
            }
        }

        row.CheckPrompt(prefix, field);
        return (prefix, chosen, rejected);
    }

    private static string Reply(RowFields row, string field, out List<ChatMessage> before)
    {
        var messages = row.Messages(field);
        var last = messages[^1];
        if (last.Role != "assistant")
        {
            throw row.Bad(field, $"must end with an assistant message, not '{last.Role}'");
        }

        before = messages[..^1];
        return string.IsNullOrWhiteSpace(last.Content) ? throw row.Bad(field, "has an empty last assistant message") : last.Content;
    }

    private static double? Margin(RowFields row)
    {
        if (row.OptionalNumber("margin") is { } margin)
        {
            return margin;
        }

        double? chosen = row.OptionalNumber("score_chosen");
        double? rejected = row.OptionalNumber("score_rejected");
        return (chosen, rejected) switch
        {
            (null, null) => null,
            (null, _) => throw row.Bad("score_chosen", "is missing (a margin needs both scores)"),
            (_, null) => throw row.Bad("score_rejected", "is missing (a margin needs both scores)"),
            _ => chosen - rejected,
        };
    }
}
