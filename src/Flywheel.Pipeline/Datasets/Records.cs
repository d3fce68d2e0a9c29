using Flywheel.Llama.Chat;

namespace Flywheel.Pipeline.Datasets;

/// <summary>
/// A preference pair: a conversation up to the assistant's turn, and two replies, the chosen one preferred.
/// <paramref name="Margin"/> (how much better chosen is) is optional; <paramref name="Source"/> names where the pair
/// came from ("file.jsonl:12", "annotator:arithmetic round 2") for errors and reports.
/// </summary>
public sealed record PreferencePair(IReadOnlyList<ChatMessage> Prompt, string Chosen, string Rejected, double? Margin, string Source);

/// <summary>A prompt to sample from, with its id and, where a verifier exists, the reference answer.</summary>
public sealed record PromptRecord(string Id, IReadOnlyList<ChatMessage> Messages, string? Answer);
