using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Llama.Gguf;
using Flywheel.Training.Data;
using Flywheel.Training.Graph;

namespace Flywheel.Training;

/// <summary>What the reward-model and SFT trainers share: the model on the device, its tokenizer and chat template.</summary>
internal sealed class TrainerCore : IDisposable
{
    private readonly LlamaModel _vocabularyModel;

    internal TrainerCore(string modelPath, TrainingOptions options, ChatTemplate? template, bool withOutput,
        Func<LlamaHyperparameters, IReadOnlyList<ParameterSpec>> extra, IReadOnlySet<string> headNames)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _vocabularyModel = LlamaModel.Load(modelPath, new ModelOptions { VocabularyOnly = true });
        try
        {
            Encoder = new ConversationEncoder(_vocabularyModel.Vocabulary, template ?? ChatTemplate.FromModel(_vocabularyModel), options.MaxLength);
            Session = ModelSession.Open(modelPath, options, withOutput, extra, headNames);
            if (options.MaxLength > Session.Hyperparameters.ContextLength)
                throw new ArgumentException($"max length {options.MaxLength} exceeds the model's context length {Session.Hyperparameters.ContextLength}");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    internal ConversationEncoder Encoder { get; }

    internal ModelSession Session { get; } = null!;

    internal int VocabularySize => Session.Hyperparameters.VocabSize;

    public void Dispose()
    {
        Session?.Dispose();
        _vocabularyModel.Dispose();
    }
}
