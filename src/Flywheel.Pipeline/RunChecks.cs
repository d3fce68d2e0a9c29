using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Llama.Gguf;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Datasets;
using Flywheel.Pipeline.Stages;
using Flywheel.Pipeline.Verifiers;

namespace Flywheel.Pipeline;

/// <summary>
/// What can be checked before round 1, so that bad input stops a run in seconds rather than after gathering and
/// training a reward model: the config against the models (chat template, reward token, layers and lengths to train),
/// every prompts file against the policy's context and the verifier's need of reference answers, and the samplers'
/// KV cache against its budget. Its pass over the prompts measures the longest, which every sampler is sized by;
/// a resumed run makes the same pass, so it sizes the same way.
/// </summary>
/// <summary>What the checks measured: the longest usable prompt in tokens (chat template applied) and the usable selection prompts.</summary>
internal sealed record RunCheckResult(int LongestPrompt, long SelectionPrompts);

internal static class RunChecks
{
    public static async Task<RunCheckResult> RunAsync(FlywheelConfig config, string policyPath, IVerifier? verifier, bool skipBad, CancellationToken ct)
    {
        // Only the vocabulary is loaded: enough to tokenize, cheap even for a large policy; its shape comes from the file.
        // A round's policy was written by the run itself: only the config's is the user's input.
        string policyKey = Path.GetFullPath(policyPath) == Path.GetFullPath(config.Policy.Model) ? "$.policy.model" : "";
        using var policy = UserModel(policyKey, () => LlamaModel.Load(policyPath, new ModelOptions { VocabularyOnly = true }));
        CheckTemplate(config, policy);
        CheckTraining(config, policyPath, policyKey, policy);

        var encoder = new PromptEncoder(policy, config, policy.TrainingContextLength);
        long selectionPrompts = await CheckPromptsAsync(config.Prompts, encoder, verifier, skipBad, ct);
        if (config.Evaluation is { } evaluation)
            await CheckPromptsAsync(evaluation with { SystemPrompt = evaluation.SystemPrompt ?? config.Prompts.SystemPrompt }, encoder, verifier, skipBad, ct);
        var annotators = config.Preferences.Select(p => p.Annotator).OfType<AnnotatorConfig>().ToList();
        foreach (var a in annotators)
        {
            var source = new PromptsConfig { Path = a.Prompts, Limit = a.Limit, SystemPrompt = config.Prompts.SystemPrompt };
            await CheckPromptsAsync(source, encoder, Verifier.Create(a.Verifier), skipBad, ct);
        }

        var s = config.Sampling;
        int sequences = annotators.Select(a => CandidateSampler.Sequences(s, a.K)).Append(CandidateSampler.Sequences(s, s.K)).Max();
        KvBudget.Check(policy, s, sequences, CandidateSampler.ContextPerSequence(policy, s, encoder.LongestPrompt));
        return new RunCheckResult(encoder.LongestPrompt, selectionPrompts);
    }

    /// <summary>
    /// Opens a model the config names (at <paramref name="key"/>; empty for one the run wrote): a file that is missing
    /// or that llama.cpp or the trainer refuse is bad input, named by its key.
    /// </summary>
    private static T UserModel<T>(string key, Func<T> open)
    {
        try
        {
            return open();
        }
        catch (Exception e) when (key.Length > 0 && e is LlamaException or IOException)
        {
            throw new ConfigException($"{key}: {e.Message}");
        }
    }

    /// <summary>The template named, or else the policy's own, exists and llama.cpp can apply it.</summary>
    private static void CheckTemplate(FlywheelConfig config, LlamaModel policy)
    {
        try
        {
            var template = config.Policy.NamedTemplate() ?? ChatTemplate.FromModel(policy);
            _ = template.Apply([new ChatMessage("user", "hello")]);
        }
        catch (LlamaException e)
        {
            throw new ConfigException($"$.policy.chat_template: {e.Message}");
        }
    }

    /// <summary>The reward model's and SFT's settings against the models they train, by the trainer's own rules.</summary>
    private static void CheckTraining(FlywheelConfig config, string policyPath, string policyKey, LlamaModel policy)
    {
        var rm = config.RewardModel;
        bool ownBackbone = rm.Init != "policy";
        string backbonePath = ownBackbone ? rm.Init : policyPath;
        string backboneKey = ownBackbone ? "$.reward_model.init" : policyKey;
        var backbone = UserModel(backboneKey, () =>
        {
            Training.TrainableModel.Check(backbonePath);
            return LlamaHyperparameters.FromGguf(GgufFile.Open(backbonePath));
        });
        if (config.Sft.Enabled) UserModel(policyKey, () => { Training.TrainableModel.Check(policyPath); return 0; });
        if (rm.Train.StartsWith("last:", StringComparison.Ordinal) && int.Parse(rm.Train[5..], System.Globalization.CultureInfo.InvariantCulture) > backbone.Layers)
            throw new ConfigException($"$.reward_model.train: {rm.Train} asked for, but {backbonePath} has {backbone.Layers} layers");
        if (rm.MaxLength > backbone.ContextLength)
            throw new ConfigException($"$.reward_model.max_length: {rm.MaxLength} exceeds {backbonePath}'s context length of {backbone.ContextLength}");
        if (config.Sft.Enabled && config.Sft.MaxLength > policy.TrainingContextLength)
            throw new ConfigException($"$.sft.max_length: {config.Sft.MaxLength} exceeds {policyPath}'s context length of {policy.TrainingContextLength}");
        if (rm.RewardToken is not { } token) return;
        using var own = ownBackbone ? LlamaModel.Load(backbonePath, new ModelOptions { VocabularyOnly = true }) : null;
        try
        {
            _ = Training.RewardToken.Id((own ?? policy).Vocabulary, token, backbonePath);
        }
        catch (ArgumentException e)
        {
            throw new ConfigException($"$.reward_model.reward_token: {e.Message}");
        }
    }

    /// <summary>
    /// Reads a prompts file once: strictly, a bad row stops the run here; with --skip-bad, bad rows are only counted
    /// (each stage sets them aside), but a file with no usable prompt stops the run all the same.
    /// </summary>
    private static async Task<long> CheckPromptsAsync(PromptsConfig source, PromptEncoder encoder, IVerifier? verifier, bool skipBad, CancellationToken ct)
    {
        var (prompts, reader) = RoundContext.OpenPrompts(source.Path, source.Limit, new DatasetReadOptions
        {
            SystemPrompt = source.SystemPrompt,
            PromptCheck = p => verifier?.ReferenceProblem(p) ?? encoder.Problem(p),
            SkipBad = skipBad,
        }, ct);
        long usable = 0;
        await foreach (var _ in prompts.WithCancellation(ct)) usable++;
        if (usable == 0)
            throw new DatasetFormatException(Path.GetFileName(source.Path), null, reader.RowsRejected > 0
                ? $"no usable prompt: all {reader.RowsRejected} rows are bad (see the errors without --skip-bad)"
                : "no prompts: the file holds no rows");
        return usable;
    }
}
