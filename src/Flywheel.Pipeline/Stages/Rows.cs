using Flywheel.Parquet;

namespace Flywheel.Pipeline.Stages;

/// <summary>One turn of a conversation as SFT datasets store it (TRL's conversational format).</summary>
public sealed record MessageRow(string Role, string Content);

/// <summary>
/// A scored candidate (candidates.parquet and its parts): every candidate of every prompt with its reward, its rank
/// among the prompt's candidates (1 = best) and whether it was kept.
/// </summary>
public sealed record CandidateRow
{
    public required string PromptId { get; init; }
    public required int PromptIndex { get; init; }
    public required string Prompt { get; init; }
    public required IReadOnlyList<MessageRow> PromptMessages { get; init; }
    public required int Candidate { get; init; }
    public required string Completion { get; init; }
    public required int Tokens { get; init; }

    /// <summary>The completion's tokens as the policy sampled them (no end-of-generation token): what scoring and SFT use.</summary>
    public required IReadOnlyList<int> TokenIds { get; init; }

    /// <summary>The prompt's tokens as the sampler fed them (chat template applied, BOS included).</summary>
    public required IReadOnlyList<int> PromptTokenIds { get; init; }

    public required string FinishReason { get; init; }
    public required double Reward { get; init; }
    public bool? Correct { get; init; }
    public string? Answer { get; init; }
    public int Rank { get; init; }
    public bool Kept { get; init; }
    public required int Round { get; init; }
    public required string Policy { get; init; }
    public required string RewardModel { get; init; }
}

/// <summary>An SFT-ready row (sft.parquet): <c>messages</c> holds the prompt's turns and the kept completion.</summary>
public sealed record SftRow
{
    public required IReadOnlyList<MessageRow> Messages { get; init; }
    public required string PromptId { get; init; }
    public required string Prompt { get; init; }
    public required string Completion { get; init; }

    /// <summary>The prompt's tokens as the sampler fed them (chat template applied).</summary>
    public required IReadOnlyList<int> PromptTokenIds { get; init; }

    /// <summary>The completion's tokens as sampled: SFT learns these (then the template's end-of-turn), not a re-tokenization.</summary>
    public required IReadOnlyList<int> CompletionTokenIds { get; init; }

    public required double Reward { get; init; }
    public required int Rank { get; init; }
    public required int Round { get; init; }
    public required string Policy { get; init; }
    public required string RewardModel { get; init; }

    public static SftRow From(CandidateRow c) => new()
    {
        Messages = [.. c.PromptMessages, new MessageRow("assistant", c.Completion)],
        PromptId = c.PromptId,
        Prompt = c.Prompt,
        Completion = c.Completion,
        PromptTokenIds = c.PromptTokenIds,
        CompletionTokenIds = c.TokenIds,
        Reward = c.Reward,
        Rank = c.Rank,
        Round = c.Round,
        Policy = c.Policy,
        RewardModel = c.RewardModel,
    };
}

/// <summary>
/// A DPO pair (export --kind dpo): the best and the worst candidate of a prompt, in TRL's conversational preference
/// format: <c>prompt</c> the conversation up to the reply, <c>chosen</c> and <c>rejected</c> one assistant message each.
/// </summary>
public sealed record DpoRow
{
    public required IReadOnlyList<MessageRow> Prompt { get; init; }
    public required IReadOnlyList<MessageRow> Chosen { get; init; }
    public required IReadOnlyList<MessageRow> Rejected { get; init; }
    public required string PromptId { get; init; }
    public required double RewardChosen { get; init; }
    public required double RewardRejected { get; init; }
    public required double Margin { get; init; }
    public required int Round { get; init; }

    /// <summary>The same pair in TRL's standard format: the prompt as <paramref name="render"/> writes it, the replies' text.</summary>
    public DpoTextRow ToText(Func<IReadOnlyList<MessageRow>, string> render) => new()
    {
        Prompt = render(Prompt),
        Chosen = Chosen[^1].Content,
        Rejected = Rejected[^1].Content,
        PromptId = PromptId,
        RewardChosen = RewardChosen,
        RewardRejected = RewardRejected,
        Margin = Margin,
        Round = Round,
    };
}

/// <summary>A DPO pair in TRL's standard (text) preference format (export --kind dpo --format-style text): plain strings.</summary>
public sealed record DpoTextRow
{
    public required string Prompt { get; init; }
    public required string Chosen { get; init; }
    public required string Rejected { get; init; }
    public required string PromptId { get; init; }
    public required double RewardChosen { get; init; }
    public required double RewardRejected { get; init; }
    public required double Margin { get; init; }
    public required int Round { get; init; }
}

internal static class RowFiles
{
    /// <summary>Column names in snake_case (prompt_id, reward_model, …), as the data formats in DESIGN.md name them.</summary>
    public static ParquetSerializerOptions Options(string? configHash = null, long rowGroupBytes = 64L << 20) => new()
    {
        ColumnNaming = ColumnNaming.SnakeCase,
        Writer = new ParquetWriterOptions
        {
            RowGroupSize = rowGroupBytes,

            // Writing hides behind sampling and scoring, so overlapping row groups would only double the buffers.
            OverlapRowGroups = false,
            KeyValueMetadata = configHash is null ? null : new Dictionary<string, string> { ["flywheel.config_hash"] = configHash },
        },
    };
}
