using Flywheel.Llama.Chat;

namespace Flywheel.Pipeline.Datasets;

/// <summary>Splits Anthropic HH-RLHF transcripts (<c>\n\nHuman: … \n\nAssistant: …</c>) into chat messages.</summary>
internal static class HhRlhfTranscript
{
    private const string Human = "\n\nHuman:";
    private const string Assistant = "\n\nAssistant:";

    /// <summary>
    /// The turns before the last Assistant turn, which both transcripts must share, are the prompt; the last Assistant
    /// turns are the replies.
    /// </summary>
    public static (List<ChatMessage> Prompt, string Chosen, string Rejected) Split(RowFields row)
    {
        var chosen = Turns(row, "chosen");
        var rejected = Turns(row, "rejected");
        var prompt = chosen[..^1];
        if (!prompt.SequenceEqual(rejected[..^1]))
        {
            throw row.Bad("rejected", "differs from 'chosen' before the last Assistant turn");
        }

        row.CheckPrompt(prompt, "chosen");
        return (prompt, chosen[^1].Content, rejected[^1].Content);
    }

    /// <summary>The turns of one transcript, each trimmed (the format puts a space after the colon, and sometimes two).</summary>
    private static List<ChatMessage> Turns(RowFields row, string field)
    {
        // Some copies of the data drop the blank line before the first turn.
        string text = "\n\n" + row.Text(field).TrimStart();
        if (!text.StartsWith(Human, StringComparison.Ordinal))
        {
            throw row.Bad(field, "does not start with a 'Human:' turn");
        }

        var turns = new List<ChatMessage>();
        for (int at = 0; at < text.Length;)
        {
            bool human = text.AsSpan(at).StartsWith(Human);
            int start = at + (human ? Human.Length : Assistant.Length);
            int next = NextMarker(text, start);
            turns.Add(new ChatMessage(human ? "user" : "assistant", text[start..next].Trim()));
            at = next;
        }

        if (turns[^1].Role != "assistant")
        {
            throw row.Bad(field, "does not end with an 'Assistant:' turn");
        }

        return turns[^1].Content.Length == 0 ? throw row.Bad(field, "has an empty last 'Assistant:' turn") : turns;
    }

    private static int NextMarker(string text, int from)
    {
        int human = text.IndexOf(Human, from, StringComparison.Ordinal);
        int assistant = text.IndexOf(Assistant, from, StringComparison.Ordinal);
        return human < 0 ? (assistant < 0 ? text.Length : assistant) : (assistant < 0 ? human : Math.Min(human, assistant));
    }
}
