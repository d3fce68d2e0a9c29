using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Runs;
using Flywheel.Pipeline.Stages;

namespace Flywheel.Cli.Commands;

/// <summary>
/// A round's prompts as its policy was prompted: the run's chat template (or the policy's own) applied, ending where
/// the assistant's reply begins, without the BOS token a tokenizer adds. TRL's standard-format trainers tokenize this
/// text as it is, so a model trained on it sees what the policy saw when it sampled.
/// </summary>
internal sealed class PolicyPromptText(RunStore store)
{
    private readonly Dictionary<int, ChatTemplate> _templates = [];

    public string Render(int round, IReadOnlyList<MessageRow> prompt) =>
        Template(round).Apply([.. prompt.Select(m => new ChatMessage(m.Role, m.Content))]);

    private ChatTemplate Template(int round)
    {
        if (_templates.TryGetValue(round, out var template)) return template;
        template = store.Config.Policy.NamedTemplate() ?? FromPolicy(round);
        _templates[round] = template;
        return template;
    }

    private ChatTemplate FromPolicy(int round)
    {
        string policy = store.Manifest.Round(round).Policy is { } recorded
            ? store.FromRecorded(recorded)
            : throw new InvalidOperationException($"round {round} has no policy recorded");
        using var model = LlamaModel.Load(policy, new ModelOptions { VocabularyOnly = true });
        return ChatTemplate.FromModel(model);
    }
}
