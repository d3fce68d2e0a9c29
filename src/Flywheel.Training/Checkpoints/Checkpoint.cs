using Flywheel.Llama;
using Flywheel.Llama.Gguf;
using Flywheel.Training.Graph;

namespace Flywheel.Training.Checkpoints;

/// <summary>
/// Everything needed to continue training exactly where it stopped: trainable weights, AdamW moments and step, the
/// data cursor (the next optimizer step of the run's fixed plan), the state of the generator that planned the data
/// order, the loss history, and what the task keeps (e.g. evaluations). Stored as a GGUF file (f32 tensors
/// "param/…", "m/…", "v/…"), written to a temporary name and renamed into place.
/// </summary>
internal sealed record Checkpoint(
    string Fingerprint,
    int NextStep,
    int OptimizerStep,
    ulong RandomState,
    IReadOnlyList<double> Losses,
    string TaskState)
{
    internal const string FileName = "checkpoint.gguf";
    private const string Prefix = "flywheel.checkpoint.";

    internal static string PathIn(string directory) => System.IO.Path.Combine(directory, FileName);

    internal void Save(string directory, ParameterStore parameters)
    {
        var writer = new GgufWriter()
            .Set("general.architecture", GgufValue.Of("flywheel-checkpoint"))
            .Set(Prefix + "version", GgufValue.Of(1u))
            .Set(Prefix + "fingerprint", GgufValue.Of(Fingerprint))
            .Set(Prefix + "next_step", GgufValue.Of(NextStep))
            .Set(Prefix + "optimizer_step", GgufValue.Of(OptimizerStep))
            .Set(Prefix + "random_state", GgufValue.Of(RandomState))
            .Set(Prefix + "losses", GgufValue.Create(GgufValueType.Array, GgufValueType.Float64, Losses.ToArray()))
            .Set(Prefix + "task_state", GgufValue.Of(TaskState));
        foreach (var p in parameters.Trainable)
        {
            writer.AddTensor("param/" + p.Name, p.Shape, ParameterStore.Read(p.Tensor));
            writer.AddTensor("m/" + p.Name, p.Shape, ParameterStore.Read(p.FirstMoment));
            writer.AddTensor("v/" + p.Name, p.Shape, ParameterStore.Read(p.SecondMoment));
        }
        Directory.CreateDirectory(directory);
        writer.WriteTo(PathIn(directory));
    }

    /// <summary>The checkpoint in <paramref name="directory"/>, or null when there is none.</summary>
    internal static Checkpoint? TryLoad(string directory)
    {
        string path = PathIn(directory);
        if (!System.IO.File.Exists(path)) return null;
        var file = GgufFile.Open(path);
        var m = file.Metadata;
        GgufValue Get(string key) => m.TryGetValue(Prefix + key, out var v) ? v : throw new LlamaException($"{path}: not a Flywheel checkpoint (no {Prefix}{key})");
        if (Get("version").AsInt64() != 1) throw new LlamaException($"{path}: unsupported checkpoint version {Get("version")}");
        return new Checkpoint(Get("fingerprint").AsString(), (int)Get("next_step").AsInt64(), (int)Get("optimizer_step").AsInt64(),
            (ulong)Get("random_state").Value, (double[])Get("losses").Value, Get("task_state").AsString()) { File = file };
    }

    private GgufFile? File { get; init; }

    /// <summary>Restores weights and moments into <paramref name="parameters"/>; the trainable set must match.</summary>
    internal void Restore(ParameterStore parameters)
    {
        var file = File ?? throw new InvalidOperationException("only a loaded checkpoint can be restored");
        int expected = parameters.Trainable.Count() * 3;
        if (file.Tensors.Count != expected)
            throw new LlamaException($"{file.Path}: holds {file.Tensors.Count / 3} trainable tensors, this run trains {expected / 3}");
        foreach (var p in parameters.Trainable)
        {
            ParameterStore.Write(p.Tensor, file.ReadTensorFloats(file.GetTensor("param/" + p.Name)));
            ParameterStore.Write(p.FirstMoment, file.ReadTensorFloats(file.GetTensor("m/" + p.Name)));
            ParameterStore.Write(p.SecondMoment, file.ReadTensorFloats(file.GetTensor("v/" + p.Name)));
        }
    }
}
