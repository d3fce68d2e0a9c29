using Flywheel.Llama;
using Flywheel.Llama.Gguf;
using Flywheel.Training.Torch;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Flywheel.Training.Checkpoints;

/// <summary>
/// Everything needed to continue training exactly where it stopped: trainable weights (or LoRA adapters and the
/// head), AdamW's state and step, the data cursor (the next optimizer step of the run's fixed plan), the state of the
/// generators that planned the data order and draw dropout, the loss history, and what the task keeps (e.g.
/// evaluations). One GGUF file (f32 tensors "param/…", byte tensors for the optimizer and generator states), written
/// to a temporary name, flushed and renamed into place.
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
    // 3: the optimizer state is our AdamW's (each parameter's step and moments), no longer TorchSharp's.
    private const int Version = 3;
    private const string OptimizerTensor = "state/optimizer";
    private const string DropoutTensor = "state/dropout";

    internal static string PathIn(string directory) => System.IO.Path.Combine(directory, FileName);

    internal void Save(string directory, IEnumerable<(string Name, Parameter Parameter)> parameters, byte[] optimizerState, byte[] dropoutState)
    {
        var writer = new GgufWriter()
            .Set("general.architecture", GgufValue.Of("flywheel-checkpoint"))
            .Set(Prefix + "version", GgufValue.Of((uint)Version))
            .Set(Prefix + "fingerprint", GgufValue.Of(Fingerprint))
            .Set(Prefix + "next_step", GgufValue.Of(NextStep))
            .Set(Prefix + "optimizer_step", GgufValue.Of(OptimizerStep))
            .Set(Prefix + "random_state", GgufValue.Of(RandomState))
            .Set(Prefix + "losses", GgufValue.Create(GgufValueType.Array, GgufValueType.Float64, Losses.ToArray()))
            .Set(Prefix + "task_state", GgufValue.Of(TaskState));
        foreach (var (name, p) in parameters)
        {
            writer.AddTensor("param/" + name, [.. p.shape.Reverse()], TensorFloats.Read(p));
        }
        writer.AddTensorBytes(OptimizerTensor, [optimizerState.Length], GgmlType.I8, optimizerState);
        writer.AddTensorBytes(DropoutTensor, [dropoutState.Length], GgmlType.I8, dropoutState);
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
        if (Get("version").AsInt64() != Version)
            throw new LlamaException($"{path}: checkpoint version {Get("version")} is not this trainer's ({Version}); remove it to train from the start");
        return new Checkpoint(Get("fingerprint").AsString(), (int)Get("next_step").AsInt64(), (int)Get("optimizer_step").AsInt64(),
            (ulong)Get("random_state").Value, (double[])Get("losses").Value, Get("task_state").AsString()) { File = file };
    }

    private GgufFile? File { get; init; }

    /// <summary>Restores the trainable tensors; the trainable set must match. Returns the optimizer's and dropout's states.</summary>
    internal (byte[] Optimizer, byte[] Dropout) Restore(IReadOnlyList<(string Name, Parameter Parameter)> parameters)
    {
        var file = File ?? throw new InvalidOperationException("only a loaded checkpoint can be restored");
        int stored = file.Tensors.Count(t => t.Name.StartsWith("param/", StringComparison.Ordinal));
        if (stored != parameters.Count)
            throw new LlamaException($"{file.Path}: holds {stored} trainable tensors, this run trains {parameters.Count}");
        using (no_grad())
        {
            foreach (var (name, p) in parameters)
            {
                var info = file.GetTensor("param/" + name);
                using var values = tensor(file.ReadTensorFloats(info), p.shape, ScalarType.Float32);
                p.copy_(values);
            }
        }
        return (file.ReadTensorBytes(file.GetTensor(OptimizerTensor)), file.ReadTensorBytes(file.GetTensor(DropoutTensor)));
    }
}
