using System.Text.Json;
using System.Text.Json.Nodes;
using Flywheel.Pipeline.Config;
using Flywheel.Llama.Chat;

namespace Flywheel.Pipeline.Sampling.Remote;

/// <summary>One choice of a completion response: its text, the token ids if the server sent them, and why it stopped.</summary>
internal sealed record RemoteChoice(int Index, string Text, IReadOnlyList<int>? TokenIds, string? TokenIdSource, string FinishReason, bool StopString);

/// <summary>
/// The OpenAI completions and chat-completions wire format, with the extensions servers use to return token ids:
/// vLLM's <c>return_token_ids</c> (<c>choices[].token_ids</c>, <c>prompt_token_ids</c>) and llama-server's logprobs
/// entries, which carry each sampled token's <c>id</c>.
/// </summary>
internal static class OpenAiProtocol
{
    public static string Path(string route) => route == "chat" ? "chat/completions" : "completions";

    /// <summary>
    /// A request for <paramref name="n"/> candidates: the completions route sends the prompt as token ids (Flywheel's
    /// template and tokenizer), the chat route sends the messages (the server's template).
    /// </summary>
    public static JsonObject Request(SamplingConfig s, string model, IReadOnlyList<int> promptTokens, IReadOnlyList<ChatMessage> messages, int n, uint seed)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["n"] = n,
            ["max_tokens"] = s.MaxNewTokens,
            ["temperature"] = s.Temperature,
            ["top_p"] = s.TopP,
            // 0 is "off" in Flywheel; vLLM and llama-server both read -1 so.
            ["top_k"] = s.TopK == 0 ? -1 : s.TopK,
            ["min_p"] = s.MinP,
            ["seed"] = seed,
            ["stream"] = false,
            ["return_token_ids"] = true,
            // llama-server's default chain also has penalties, DRY, XTC…; Flywheel's in-process chain has only these.
            ["samplers"] = new JsonArray("top_k", "top_p", "min_p", "temperature"),
        };
        if (s.Stop.Count > 0) body["stop"] = new JsonArray([.. s.Stop.Select(x => JsonValue.Create(x))]);
        if (s.Route == "chat")
        {
            body["messages"] = new JsonArray([.. messages.Select(m => new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]);
            body["logprobs"] = true;
        }
        else
        {
            body["prompt"] = new JsonArray([.. promptTokens.Select(t => JsonValue.Create(t))]);
            body["logprobs"] = 1;
        }
        return body;
    }

    /// <summary>The choices of a response, in index order; throws <see cref="JsonException"/> unless it holds exactly <paramref name="n"/>.</summary>
    public static IReadOnlyList<RemoteChoice> Choices(JsonElement root, string route, int n)
    {
        if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array)
            throw new JsonException("the response has no 'choices' array");
        var result = new RemoteChoice?[n];
        foreach (var c in choices.EnumerateArray())
        {
            int index = c.GetProperty("index").GetInt32();
            if (index < 0 || index >= n || result[index] is not null) throw new JsonException($"the response has choice {index} of {n} twice or out of range");
            string text = route == "chat" ? c.GetProperty("message").GetProperty("content").GetString() ?? "" : c.GetProperty("text").GetString() ?? "";
            var (ids, source) = TokenIds(c);
            string finish = c.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString()! : "stop";
            // vLLM says which stop string ended a choice; llama-server does not (its ids then show whether an EOS did).
            bool stopString = c.TryGetProperty("stop_reason", out var r) && r.ValueKind == JsonValueKind.String;
            result[index] = new RemoteChoice(index, text, ids, source, finish, stopString);
        }
        if (result.Any(c => c is null)) throw new JsonException($"the response has {choices.GetArrayLength()} choices; {n} were asked for");
        return result!;
    }

    /// <summary>The prompt's token ids as the server saw them, where it says (vLLM's <c>prompt_token_ids</c>).</summary>
    public static IReadOnlyList<int>? PromptTokenIds(JsonElement root) =>
        root.TryGetProperty("prompt_token_ids", out var p) && p.ValueKind == JsonValueKind.Array ? p.EnumerateArray().Select(t => t.GetInt32()).ToArray()
        : root.TryGetProperty("choices", out var c) && c.GetArrayLength() > 0 && c[0].TryGetProperty("prompt_token_ids", out var q) && q.ValueKind == JsonValueKind.Array
            ? q.EnumerateArray().Select(t => t.GetInt32()).ToArray()
            : null;

    private static (IReadOnlyList<int>?, string?) TokenIds(JsonElement choice)
    {
        if (choice.TryGetProperty("token_ids", out var ids) && ids.ValueKind == JsonValueKind.Array)
            return (ids.EnumerateArray().Select(t => t.GetInt32()).ToArray(), "token_ids");
        if (choice.TryGetProperty("logprobs", out var lp) && lp.ValueKind == JsonValueKind.Object
            && lp.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array
            && content.EnumerateArray().All(t => t.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number))
            return (content.EnumerateArray().Select(t => t.GetProperty("id").GetInt32()).ToArray(), "logprobs");
        return (null, null);
    }
}
