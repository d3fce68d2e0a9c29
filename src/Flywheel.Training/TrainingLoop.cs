using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Flywheel.Training.Checkpoints;
using Flywheel.Training.Data;
using Flywheel.Training.Graph;
using Flywheel.Training.Optimization;

namespace Flywheel.Training;

/// <summary>A micro-batch's graph: its (already weighted) loss and, for reward models, the rewards to count accuracy from.</summary>
internal sealed record MicroBatchGraph(IntPtr Loss, IntPtr ChosenRewards = default, IntPtr RejectedRewards = default);

/// <summary>What the training loop needs from a task (reward model, SFT).</summary>
internal interface ITrainingTask
{
    /// <summary>Token count of each example's longest sequence.</summary>
    IReadOnlyList<int> Lengths { get; }

    /// <summary>Sequences per example (2 for a preference pair).</summary>
    int SequencesPerExample { get; }

    /// <summary>How much an example counts in the mean loss (1 per pair; target tokens for SFT).</summary>
    double Weight(int example);

    /// <summary>Real tokens of an example, for throughput.</summary>
    int Tokens(int example);

    /// <summary>Builds the micro-batch's loss, multiplied by <paramref name="scale"/> (1 / the step's total weight).</summary>
    MicroBatchGraph Build(GraphContext g, int[] examples, float scale);

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
internal sealed class TrainingLoop(ModelSession session, TrainingOptions options, ITrainingTask task)
{
    internal LoopResult Run(IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var random = new SplitMix64(options.Seed);
        var steps = new List<(int Epoch, bool LastOfEpoch, int[][] Batches)>();
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            var batches = BatchPlanner.Epoch(task.Lengths, task.SequencesPerExample, options.TokensPerBatch, random);
            for (int i = 0; i < batches.Count; i += options.GradientAccumulation)
            {
                var group = batches.Skip(i).Take(options.GradientAccumulation).ToArray();
                steps.Add((epoch, i + options.GradientAccumulation >= batches.Count, group));
            }
        }
        // Hashing the model reads all of it: only done where there are checkpoints to match.
        var fingerprint = new Lazy<string>(Fingerprint);

        var losses = new List<double>();
        int first = 0;
        bool resumed = false;
        if (options.CheckpointDirectory is { } dir && Checkpoint.TryLoad(dir) is { } checkpoint)
        {
            if (checkpoint.Fingerprint != fingerprint.Value || checkpoint.RandomState != random.State)
                throw new Flywheel.Llama.LlamaException($"{Checkpoint.PathIn(dir)} comes from a run with other data or options; remove it or use another checkpoint directory");
            checkpoint.Restore(session.Parameters);
            session.Optimizer.Step = checkpoint.OptimizerStep;
            task.RestoreState(checkpoint.TaskState);
            losses.AddRange(checkpoint.Losses);
            first = checkpoint.NextStep;
            resumed = true;
        }
        session.Parameters.ClearGradients();

        for (int s = first; s < steps.Count; s++)
        {
            var (epoch, lastOfEpoch, batches) = steps[s];
            var clock = Stopwatch.StartNew();
            double totalWeight = batches.SelectMany(b => b).Sum(task.Weight);
            double loss = 0;
            int correct = 0, pairs = 0;
            long tokens = 0;
            foreach (var batch in batches)
            {
                cancellationToken.ThrowIfCancellationRequested();
                MicroBatchGraph? current = null;
                using var g = session.Run("training", train: true, g =>
                {
                    var built = task.Build(g, batch, (float)(1 / totalWeight));
                    if (built.ChosenRewards != IntPtr.Zero)
                    {
                        GraphContext.Output(built.ChosenRewards);
                        GraphContext.Output(built.RejectedRewards);
                    }
                    g.Expand(built.Loss);
                    current = built;
                    return built.Loss;
                });
                loss += GraphContext.Read(g.Result)[0];
                if (current!.ChosenRewards != IntPtr.Zero)
                {
                    float[] c = GraphContext.Read(current.ChosenRewards), r = GraphContext.Read(current.RejectedRewards);
                    for (int i = 0; i < c.Length; i++) correct += c[i] > r[i] ? 1 : 0;
                    pairs += c.Length;
                }
                tokens += batch.Sum(task.Tokens);
            }
            if (!double.IsFinite(loss))
                throw new TrainingDivergedException($"the loss became {loss} at step {s + 1}; lower the learning rate");
            double lr = LearningRate.At(options, session.Optimizer.Step, steps.Count);
            double norm = session.Optimizer.Update(lr);
            losses.Add(loss);
            if (lastOfEpoch) task.EndOfEpoch(epoch, cancellationToken);
            if (options.CheckpointDirectory is { } d && ((s + 1) % options.CheckpointEverySteps == 0 || lastOfEpoch))
                new Checkpoint(fingerprint.Value, s + 1, session.Optimizer.Step, random.State, losses, task.SaveState()).Save(d, session.Parameters);
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
