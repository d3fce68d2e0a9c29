namespace Flywheel.Pipeline.Datasets;

/// <summary>How a preference-pair file's rows are laid out.</summary>
public enum PairFormat
{
    /// <summary>Told from the first row's fields: list-valued <c>chosen</c> → chat messages; a <c>prompt</c> field → prompt/chosen/rejected; otherwise HH-RLHF text.</summary>
    Auto,

    /// <summary><c>chosen</c>/<c>rejected</c> are whole transcripts in <c>\n\nHuman: … \n\nAssistant: …</c> turns.</summary>
    HhRlhf,

    /// <summary><c>chosen</c>/<c>rejected</c> are <c>[{role, content}]</c> lists ending in the assistant's reply; optional <c>prompt</c> list or string.</summary>
    ChatMessages,

    /// <summary><c>prompt</c>, <c>chosen</c>, <c>rejected</c> strings; optional <c>system</c>.</summary>
    PromptChosenRejected,
}

/// <summary>How a prompt file's rows are laid out.</summary>
public enum PromptFormat
{
    /// <summary>Told from the first row's fields: <c>messages</c> → messages; <c>question</c> without <c>prompt</c> → GSM8K; otherwise prompt.</summary>
    Auto,

    /// <summary>A <c>prompt</c> string (one user message) or <c>[{role, content}]</c> list.</summary>
    Prompt,

    /// <summary>A <c>messages</c> list of <c>{role, content}</c>.</summary>
    Messages,

    /// <summary>GSM8K's own <c>{question, answer}</c>: the question is the prompt, the whole answer the reference.</summary>
    Gsm8k,
}

/// <summary>
/// How to read a dataset file (JSONL, gzipped JSONL or Parquet, told apart by their first bytes). Optional fields of
/// every format: <c>id</c> and <c>answer</c> (prompts), <c>margin</c> or <c>score_chosen</c>/<c>score_rejected</c> (pairs).
/// </summary>
public sealed record DatasetReadOptions
{
    /// <summary>The layout of preference-pair rows (read by <see cref="PreferenceDatasets"/>).</summary>
    public PairFormat PairFormat { get; init; }

    /// <summary>The layout of prompt rows (read by <see cref="PromptDatasets"/>).</summary>
    public PromptFormat PromptFormat { get; init; }

    /// <summary>Prepended to every prompt as a system message, unless the prompt already starts with one (prompts only).</summary>
    public string? SystemPrompt { get; init; }

    /// <summary>
    /// Prompts only: why a well-formed prompt still cannot be used (too long for the policy's context, say), or null
    /// where it can. A prompt with a reason is a bad row like any other, named by its file and line.
    /// </summary>
    public Func<PromptRecord, string?>? PromptCheck { get; init; }

    /// <summary>
    /// Set aside bad rows instead of stopping at the first with <see cref="DatasetFormatException"/>: each is counted in
    /// <see cref="DatasetReader{T}.RowsRejected"/> and, where <see cref="RejectsPath"/> is set, written there.
    /// </summary>
    public bool SkipBad { get; init; }

    /// <summary>
    /// With <see cref="SkipBad"/>: a JSONL file (overwritten) that receives one line per bad row:
    /// <c>{"source": "file:line", "reason": "…", "line": "the original line"}</c>, or <c>"row": {…}</c> for Parquet.
    /// </summary>
    public string? RejectsPath { get; init; }
}
