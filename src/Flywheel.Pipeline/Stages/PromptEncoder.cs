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

    /// <param name="contextTokens">Tokens a sequence holds, prompt and new tokens together: the model's training context
    /// for the check before round 1, a sampler's own context (sized by that check) in the stages.</param>
    public PromptEncoder(LlamaModel model, FlywheelConfig config, int contextTokens)
    {
        _model = model;
        _template = config.Policy.NamedTemplate() ?? ChatTemplate.FromModel(model);
        _maxNewTokens = config.Sampling.MaxNewTokens;
        ContextTokens = contextTokens;
    }

    /// <summary>Tokens per sequence: prompt and new tokens together.</summary>
    public int ContextTokens { get; }

    /// <summary>The most tokens of a prompt <see cref="Problem"/> has accepted: what the run's samplers are sized by.</summary>
    public int LongestPrompt { get; private set; }

    // The check that reads a prompt and the sampler that takes it see the same record: it is formatted and tokenized
    // once. Held weakly, so memory follows the prompts in flight, not the file.
    private readonly ConditionalWeakTable<PromptRecord, int[]> _tokens = new();

    public int[] Encode(PromptRecord prompt) =>
        _tokens.GetValue(prompt, p => _model.Vocabulary.Tokenize(_template.Apply(p.Messages), addSpecial: true, parseSpecial: true));

    /// <summary>Why the policy cannot take <paramref name="prompt"/>, or null where it can (a <see cref="DatasetReadOptions.PromptCheck"/>).</summary>
    public string? Problem(PromptRecord prompt)
    {
        int tokens = Encode(prompt).Length;
        if (tokens + _maxNewTokens > ContextTokens)
            return $"prompt '{prompt.Id}' has {tokens} tokens; with {_maxNewTokens} new tokens that exceeds the policy's context of {ContextTokens} tokens";
        LongestPrompt = Math.Max(LongestPrompt, tokens);
        return null;
    }
}
