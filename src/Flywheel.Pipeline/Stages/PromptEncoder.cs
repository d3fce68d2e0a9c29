using System.Runtime.CompilerServices;
using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Datasets;

namespace Flywheel.Pipeline.Stages;

/// <summary>
/// A prompt as the policy sees it: its messages through the chat template, tokenized, and whether it leaves room for
/// the new tokens in the policy's context. The sampler and the runner's early check share it, so they agree on what fits.
/// </summary>
internal sealed class PromptEncoder
{
    private readonly LlamaModel _model;
    private readonly ChatTemplate _template;
    private readonly int _maxNewTokens;

    public PromptEncoder(LlamaModel model, FlywheelConfig config)
    {
        _model = model;
        _template = config.Policy.NamedTemplate() ?? ChatTemplate.FromModel(model);
        _maxNewTokens = config.Sampling.MaxNewTokens;

        // The model's training context, or enough for a short prompt and the answer where that is smaller.
        ContextTokens = Math.Max(model.TrainingContextLength, _maxNewTokens + 64);
    }

    /// <summary>Tokens per sequence: prompt and new tokens together.</summary>
    public int ContextTokens { get; }

    // The check that reads a prompt and the sampler that takes it see the same record: it is formatted and tokenized
    // once. Held weakly, so memory follows the prompts in flight, not the file.
    private readonly ConditionalWeakTable<PromptRecord, int[]> _tokens = new();

    public int[] Encode(PromptRecord prompt) =>
        _tokens.GetValue(prompt, p => _model.Vocabulary.Tokenize(_template.Apply(p.Messages), addSpecial: true, parseSpecial: true));

    /// <summary>Why the policy cannot take <paramref name="prompt"/>, or null where it can (a <see cref="DatasetReadOptions.PromptCheck"/>).</summary>
    public string? Problem(PromptRecord prompt)
    {
        int tokens = Encode(prompt).Length;
        return tokens + _maxNewTokens > ContextTokens
            ? $"prompt '{prompt.Id}' has {tokens} tokens; with {_maxNewTokens} new tokens that exceeds the policy's context of {ContextTokens} tokens"
            : null;
    }
}
