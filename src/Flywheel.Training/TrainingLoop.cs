using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Flywheel.Training.Checkpoints;
using Flywheel.Training.Data;
using Flywheel.Training.Optimization;
using static TorchSharp.torch;

namespace Flywheel.Training;

/// <summary>
/// A micro-batch's forward pass: the tensor to call backward on (its gradient is the loss's, already weighted), the
/// loss value it stands for, and for reward models the pairs it ranked right.
/// </summary>
internal sealed record MicroBatch(Tensor Objective, double Loss, int Correct = 0, int Pairs = 0);

/// <summary>What the training loop needs from a task (reward model, SFT).</summary>
internal interface ITrainingTask
{
    /// <summary>Real tokens of each example (every sequence of it), for the batch budget and throughput.</summary>
    IReadOnlyList<int> Tokens { get; }

    /// <summary>How much an example counts in the mean loss (1 per pair; target tokens for SFT).</summary>
    double Weight(int example);

    /// <summary>Runs the micro-batch's forward pass with its loss multiplied by <paramref name="scale"/> (1 / the step's total weight).</summary>
    MicroBatch Forward(int[] examples, double scale);

    /// <summary>Hashes the encoded data, so that a checkpoint is only resumed on the same data.</summary>
    void Hash(IncrementalHash hash);

    /// <summary>Runs at the end of each epoch (0-based), e.g. evaluation.</summary>
    void EndOfEpoch(int epoch, CancellationToken cancellationToken);

    /// <summary>State the task keeps in checkpoints, and its restoration.</summary>
    string SaveState();

    void RestoreState(string state);
}

/// <summary>The losses of every optimizer step of a run, and whether it continued from a checkpoint.</summary>
internal sealed record LoopResult(IReadOnlyList<double> Losses, int Steps, bool Resumed);

/// <summary>
/// The optimizer loop shared by every trainer: a fixed plan of micro-batches for all epochs (from the seed), gradient
/// accumulation, AdamW with warmup and decay, checkpoints and resumption, progress and cancellation.
/// </summary>
internal sealed class TrainingLoop(TrainerSession session, TrainingOptions options, ITrainingTask task)
{
    internal LoopResult Run(IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var random = new SplitMix64(options.Seed);
        var steps = new List<(int Epoch, bool LastOfEpoch, int[][] Batches)>();
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            var batches = BatchPlanner.Epoch(task.Tokens, options.TokensPerBatch, random);
            for (int i = 0; i < batches.Count; i += options.GradientAccumulation)
            {
                var group = batches.Skip(i).Take(options.GradientAccumulation).ToArray();
                steps.Add((epoch, i + options.GradientAccumulation >= batches.Count, group));
            }
        }
        // Hashing the model reads all of it: only done where there are checkpoints to match.
        var fingerprint = new Lazy<string>(Fingerprint);
        using var optimizer = new Optimizer([.. session.Trainable.Select(t => t.Parameter)], options);

        var losses = new List<double>();
        int first = 0;
        bool resumed = false;
        if (options.CheckpointDirectory is { } dir && Checkpoint.TryLoad(dir) is { } checkpoint)
        {
            if (checkpoint.Fingerprint != fingerprint.Value || checkpoint.RandomState != random.State)
                throw new Flywheel.Llama.LlamaException($"{Checkpoint.PathIn(dir)} comes from a run with other data or options; remove it or use another checkpoint directory");
            var (optimizerState, dropoutState) = checkpoint.Restore(session.Trainable);
            optimizer.RestoreState(optimizerState);
            using (var state = tensor(dropoutState, ScalarType.Byte)) session.Model.RestoreDropoutState(state);
            optimizer.Step = checkpoint.OptimizerStep;
            task.RestoreState(checkpoint.TaskState);
            losses.AddRange(checkpoint.Losses);
            first = checkpoint.NextStep;
            resumed = true;
        }
        optimizer.ClearGradients();

        for (int s = first; s < steps.Count; s++)
        {
            var (epoch, lastOfEpoch, batches) = steps[s];
            var clock = Stopwatch.StartNew();
            double totalWeight = batches.SelectMany(b => b).Sum(task.Weight);
            double loss = 0;
            int correct = 0, pairs = 0;
            long tokens = 0;
            session.Model.Training = true;
            try
            {
                foreach (var batch in batches)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    using var scope = NewDisposeScope();
                    var micro = task.Forward(batch, 1 / totalWeight);
                    micro.Objective.backward();
                    loss += micro.Loss;
                    correct += micro.Correct;
                    pairs += micro.Pairs;
                    tokens += batch.Sum(e => task.Tokens[e]);
                }
            }
            finally
            {
                session.Model.Training = false;
            }
            if (!double.IsFinite(loss))
                throw new TrainingDivergedException($"the loss became {loss} at step {s + 1}; lower the learning rate");
            double lr = Optimization.LearningRate.At(options, optimizer.Step, steps.Count);
            double norm;
            using (NewDisposeScope()) norm = optimizer.Update(lr);
            losses.Add(loss);
            if (lastOfEpoch) task.EndOfEpoch(epoch, cancellationToken);
            if (options.CheckpointDirectory is { } d && ((s + 1) % options.CheckpointEverySteps == 0 || lastOfEpoch))
            {
                using var dropout = session.Model.DropoutState;
                new Checkpoint(fingerprint.Value, s + 1, optimizer.Step, random.State, losses, task.SaveState())
                    .Save(d, session.Trainable, optimizer.SaveState(), dropout.data<byte>().ToArray());
            }
            double seconds = clock.Elapsed.TotalSeconds;
            progress?.Report(new TrainingProgress
            {
                Step = s + 1,
                TotalSteps = steps.Count,
                Epoch = epoch + 1,
                Loss = loss,
                LearningRate = lr,
                GradientNorm = norm,
                StepsPerSecond = 1 / seconds,
                TokensPerSecond = tokens / seconds,
                Accuracy = pairs > 0 ? (double)correct / pairs : null,
            });
        }
        return new LoopResult(losses, steps.Count, resumed);
    }

    // The run's identity: the encoded data, the model's content and every option that changes the result (not device,
    // threads or checkpointing). No paths: a folder moved with its checkpoints resumes, another model at the same path does not.
    private string Fingerprint()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        task.Hash(hash);
        var relevant = options with { Device = Flywheel.Llama.ComputeDevice.Auto, Threads = null, CheckpointDirectory = null, CheckpointEverySteps = 1 };
        hash.AppendData(Encoding.UTF8.GetBytes(relevant.ToString()));
        using (var model = File.OpenRead(session.Source.Path)) hash.AppendData(SHA256.HashData(model));
        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
