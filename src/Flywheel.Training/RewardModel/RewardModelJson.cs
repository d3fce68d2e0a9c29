using System.Text.Json.Serialization;

namespace Flywheel.Training.RewardModel;

/// <summary>The reward model's JSON (its head file, its evaluations in a checkpoint), generated at build time so that the library trims.</summary>
[JsonSerializable(typeof(RewardHeadFile))]
[JsonSerializable(typeof(List<RewardEvaluation>))]
internal sealed partial class RewardModelJson : JsonSerializerContext;
