using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Llama.Gguf;
using Flywheel.Training.Data;
using Flywheel.Training.Model;
using Flywheel.Training.Torch;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flywheel.Training;

/// <summary>
/// What the reward-model and SFT trainers share: the decoder on its device with the tensors that train, the task's own
/// tensors (a reward head), and the tokenizer and chat template that turn conversations into tokens.
/// </summary>
internal sealed class TrainerSession : IDisposable
{
    private readonly LlamaModel _vocabularyModel;
    private readonly List<(string Name, Parameter Parameter)> _extra;

    /// <param name="headNames">The decoder tensors that count as the head: they train unless LoRA trains instead.</param>
    /// <param name="extra">Tensors the task adds (a reward head), given the model's shape and device; they always train.</param>
    internal TrainerSession(string modelPath, TrainingOptions options, ChatTemplate? template, bool withOutput,
        IReadOnlySet<string> headNames, Func<LlamaHyperparameters, Device, IReadOnlyList<(string Name, Parameter Parameter)>> extra,
        string? rewardToken = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Device = TorchRuntime.Resolve(options.Device);
        TorchRuntime.SetThreads(options.Threads ?? LlamaBackend.DefaultThreadCount);
        Source = GgufFile.Open(modelPath);
        Config = DecoderConfig.FromGguf(Source);
        var hp = Config.Hyperparameters;
        if (options.MaxLength > hp.ContextLength)
            throw new ArgumentException($"max length {options.MaxLength} exceeds the model's context length {hp.ContextLength}");
        int? last = options.Layers.LastLayers;
        if (last > hp.Layers) throw new ArgumentException($"{options.Layers} asked for, but {modelPath} has {hp.Layers} layers");
        var lora = options.Layers.Lora;
        bool IsTrainable(string name)
        {
            if (lora is not null) return false;
            if (last is null || headNames.Contains(name)) return true;
            if (name == DecoderConfig.OutputNorm) return last > 0;
            int layer = DecoderConfig.LayerOf(name);
            return layer >= 0 && layer >= hp.Layers - last;
        }

        _vocabularyModel = LlamaModel.Load(modelPath, new ModelOptions { VocabularyOnly = true });
        try
        {
            int? rewardTokenId = rewardToken is null ? null : RewardToken.Id(_vocabularyModel.Vocabulary, rewardToken, modelPath);
            Encoder = new ConversationEncoder(_vocabularyModel.Vocabulary, template ?? ChatTemplate.FromModel(_vocabularyModel), options.MaxLength, rewardTokenId);
            Model = new DecoderModel(Source, Config, Device, withOutput, IsTrainable, lora, options.Seed);
            _extra = [.. extra(hp, Device)];
            Trainable = [.. Model.TrainableParameters, .. _extra];
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    internal GgufFile Source { get; }

    internal DecoderConfig Config { get; }

    internal Device Device { get; }

    internal DecoderModel Model { get; } = null!;

    internal ConversationEncoder Encoder { get; } = null!;

    /// <summary>Every tensor the optimizer updates, named as checkpoints store them.</summary>
    internal IReadOnlyList<(string Name, Parameter Parameter)> Trainable { get; } = [];

    internal long TrainableCount => Trainable.Sum(t => t.Parameter.numel());

    internal string DeviceName => Device.type == TorchSharp.DeviceType.CUDA ? $"CUDA{Math.Max(Device.index, 0)}" : "CPU";

    internal Parameter Extra(string name) => _extra.Single(e => e.Name == name).Parameter;

    public void Dispose()
    {
        Model?.Dispose();
        foreach (var (_, p) in _extra ?? []) p.Dispose();
        _vocabularyModel?.Dispose();
    }
}
