using Flywheel.Llama;
using Flywheel.Llama.Chat;

namespace Flywheel.Training.Data;

/// <summary>A prompt and the responses that follow it, as tokens; <see cref="Truncated"/> when it had to be cut to fit.</summary>
internal sealed record EncodedExample(int[] Prompt, int[][] Responses, bool Truncated)
{
    internal int[] Sequence(int response) => [.. Prompt, .. Responses[response]];

    internal int Length(int response) => Prompt.Length + Responses[response].Length;
}

/// <summary>
/// Turns conversations into tokens the way the trainers and the scorer must agree on: the prompt is the chat template
/// applied with the assistant prompt open, the response is the rest of the template applied with the reply (its
/// end-of-turn included), BOS exactly once, and the reward token after each response when there is one (XTuner's
/// reward token: the head reads its hidden state). Too long examples lose prompt tokens from the left (BOS kept), then,
/// if still too long, response tokens from the right — never dropped.
/// </summary>
internal sealed class ConversationEncoder
{
    private readonly LlamaVocabulary _vocabulary;
    private readonly ChatTemplate _template;

    internal ConversationEncoder(LlamaVocabulary vocabulary, ChatTemplate template, int maxLength, int? rewardToken = null)
    {
        _vocabulary = vocabulary;
        _template = template;
        MaxLength = maxLength;
        RewardToken = rewardToken;
    }

    internal int MaxLength { get; }

    /// <summary>The token appended to every response, or null.</summary>
    internal int? RewardToken { get; }

    /// <summary>
    /// The tokens the template puts after an assistant reply (its end-of-turn, e.g. "&lt;|im_end|&gt;\n" or
    /// "&lt;|eot_id|&gt;"), found once by rendering a one-character reply.
    /// </summary>
    private int[] EndOfTurn => _endOfTurn ??= FindEndOfTurn();

    private int[]? _endOfTurn;

    private int[] FindEndOfTurn()
    {
        ChatMessage[] prompt = [new("user", "x")];
        string promptText = _template.Apply(prompt, addAssistantPrompt: true);
        string full = _template.Apply([.. prompt, new ChatMessage("assistant", "y")], addAssistantPrompt: false);
        int reply = full.IndexOf('y', promptText.Length);
        if (!full.StartsWith(promptText, StringComparison.Ordinal) || reply < 0)
            throw new LlamaException($"chat template ({_template.Description}) renders the prompt differently once a reply follows; prompt and response tokens cannot be told apart");
        return _vocabulary.Tokenize(full[(reply + 1)..], addSpecial: false, parseSpecial: true);
    }

    /// <summary>
    /// Encodes already-tokenized replies after an already-tokenized prompt (the sampler's tokens as sampled): each reply
    /// is followed by the template's end-of-turn, then truncated and given the reward token as <see cref="Encode"/> does.
    /// </summary>
    internal EncodedExample EncodeTokens(int[] promptTokens, params IReadOnlyList<int>[] replies)
    {
        ArgumentNullException.ThrowIfNull(promptTokens);
        if (promptTokens.Length == 0) throw new ArgumentException("the prompt has no tokens", nameof(promptTokens));
        var responses = replies.Select(r => (int[])[.. r, .. EndOfTurn]).ToArray();
        if (responses.Any(r => r.Length == 0)) throw new ArgumentException("a reply gives no tokens", nameof(replies));
        return Fitted(promptTokens, responses);
    }

    /// <summary>Encodes a prompt and its responses; all responses keep the same (possibly truncated) prompt.</summary>
    internal EncodedExample Encode(IReadOnlyList<ChatMessage> prompt, params string[] responses)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        if (prompt.Count == 0) throw new ArgumentException("the prompt has no messages", nameof(prompt));
        string promptText = _template.Apply(prompt, addAssistantPrompt: true);
        int[] promptTokens = _vocabulary.Tokenize(promptText, addSpecial: true, parseSpecial: true);
        var responseTokens = new int[responses.Length][];
        for (int i = 0; i < responses.Length; i++)
        {
            ArgumentNullException.ThrowIfNull(responses[i], nameof(responses));
            string full = _template.Apply([.. prompt, new ChatMessage("assistant", responses[i])], addAssistantPrompt: false);
            if (!full.StartsWith(promptText, StringComparison.Ordinal))
                throw new LlamaException($"chat template ({_template.Description}) renders the prompt differently once a reply follows; prompt and response tokens cannot be told apart");
            responseTokens[i] = _vocabulary.Tokenize(full[promptText.Length..], addSpecial: false, parseSpecial: true);
            if (responseTokens[i].Length == 0) throw new ArgumentException($"response {i} gives no tokens", nameof(responses));
        }
        return Fitted(promptTokens, responseTokens);
    }

    /// <summary>The prompt tokens of <paramref name="prompt"/> as the sampler and the trainers format them.</summary>
    internal int[] EncodePrompt(IReadOnlyList<ChatMessage> prompt) =>
        _vocabulary.Tokenize(_template.Apply(prompt, addAssistantPrompt: true), addSpecial: true, parseSpecial: true);

    private EncodedExample Fitted(int[] promptTokens, int[][] responseTokens)
    {
        if (RewardToken is not int reward) return Fit(promptTokens, responseTokens, MaxLength, _vocabulary.Bos);
        var fitted = Fit(promptTokens, responseTokens, MaxLength - 1, _vocabulary.Bos);
        return fitted with { Responses = [.. fitted.Responses.Select(r => (int[])[.. r, reward])] };
    }

    internal static EncodedExample Fit(int[] prompt, int[][] responses, int maxLength, int bos)
    {
        int longest = responses.Max(r => r.Length);
        if (prompt.Length + longest <= maxLength) return new EncodedExample(prompt, responses, Truncated: false);
        int keepBos = prompt.Length > 0 && prompt[0] == bos ? 1 : 0;
        int promptBudget = Math.Max(keepBos, maxLength - longest);
        int[] kept = [.. prompt.AsSpan(0, keepBos), .. prompt.AsSpan(prompt.Length - (promptBudget - keepBos))];
        int responseBudget = maxLength - kept.Length;
        var cut = responses.Select(r => r.Length <= responseBudget ? r : r[..responseBudget]).ToArray();
        return new EncodedExample(kept, cut, Truncated: true);
    }
}
