using System.Text.Json;
using System.Text.Json.Serialization;
using Flywheel.Llama;

namespace Flywheel.Training.RewardModel;

/// <summary>
/// The reward head beside an exported reward-model GGUF ("rm.gguf" → "rm.head.json"): r = weight · h + bias on the
/// final-norm hidden state h of the last token, the reward statistics for normalising, and the max length the
/// trainer truncated to (the scorer must truncate the same way).
/// </summary>
internal sealed record RewardHeadFile
{
    internal const string FormatName = "flywheel-reward-head";

    [JsonPropertyName("format")] public string Format { get; init; } = FormatName;
    [JsonPropertyName("version")] public int Version { get; init; } = 1;
    [JsonPropertyName("embedding_length")] public required int EmbeddingLength { get; init; }
    [JsonPropertyName("weight")] public required float[] Weight { get; init; }
    [JsonPropertyName("bias")] public required float Bias { get; init; }
    [JsonPropertyName("reward_mean")] public required double RewardMean { get; init; }
    [JsonPropertyName("reward_std")] public required double RewardStd { get; init; }
    [JsonPropertyName("max_length")] public required int MaxLength { get; init; }

    /// <summary>The token the trainer appended to every sequence (the scorer appends it too), or null.</summary>
    [JsonPropertyName("reward_token")] public int? RewardToken { get; init; }

    internal static string PathFor(string modelPath) => Path.ChangeExtension(modelPath, ".head.json");

    internal void Write(string path)
    {
        using var file = Files.PendingFile.Create(path);
        JsonSerializer.Serialize(file.Stream, this, RewardModelJson.Default.RewardHeadFile);
        file.Commit();
    }

    internal static RewardHeadFile Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: reward head not found (it is written next to the exported model)", path);
        RewardHeadFile? head;
        try { head = JsonSerializer.Deserialize(File.ReadAllText(path), RewardModelJson.Default.RewardHeadFile); }
        catch (JsonException e) { throw new LlamaException($"{path}: not a reward head file: {e.Message}"); }
        if (head is null || head.Format != FormatName || head.Version != 1)
            throw new LlamaException($"{path}: not a version 1 {FormatName} file");
        if (head.Weight.Length != head.EmbeddingLength || head.MaxLength < 2 || !(head.RewardStd >= 0))
            throw new LlamaException($"{path}: inconsistent reward head ({head.Weight.Length} weights for embedding length {head.EmbeddingLength})");
        return head;
    }
}
