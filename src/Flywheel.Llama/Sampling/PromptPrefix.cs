namespace Flywheel.Llama.Sampling;

/// <summary>
/// Where a new prompt's opening tokens are already in the KV cache: the longest prefix it shares with the prompt of a
/// request in flight (a system prompt, few-shot examples, the chat template's header), in a slot of that request.
/// The new request's slot then starts as a copy of that slot's stream cut to the prefix, and only the rest is decoded.
/// </summary>
internal static class PromptPrefix
{
    /// <summary>
    /// A copy moves a whole KV stream, whatever the prefix's length: below this many tokens it saves little more than
    /// it costs on a small model (the chat template's header alone is 5 tokens in Llama 3's).
    /// </summary>
    internal const int MinimumLength = 8;

    /// <summary>
    /// The slot and length of the longest reusable prefix of <paramref name="prompt"/>, or null; with
    /// <paramref name="decodedOnly"/> false, counting the prompts' tokens not decoded yet as well.
    /// </summary>
    internal static (int Slot, int Length)? Find(IEnumerable<Job> jobs, IReadOnlyList<int> prompt, bool decodedOnly = true)
    {
        (int Slot, int Length)? best = null;
        foreach (var job in jobs)
        {
            // Any of the request's slots holds its prompt: as far as it is decoded while the shared evaluation runs.
            var holder = job.Candidates.FirstOrDefault(c => c.Slot >= 0 && !c.Released);
            if (holder is null) continue;
            var other = job.Request.PromptTokens;
            int decoded = holder.Feed.Done || !decodedOnly ? other.Count : holder.Feed.Fed;
            // The last prompt token is always decoded: its logits give the first token.
            int limit = Math.Min(decoded, prompt.Count - 1), length = 0;
            while (length < limit && other[length] == prompt[length]) length++;
            if (length >= MinimumLength && length > (best?.Length ?? 0)) best = (holder.Slot, length);
        }
        return best;
    }
}
