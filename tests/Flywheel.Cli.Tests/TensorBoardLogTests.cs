using System.Buffers.Binary;
using Flywheel.Pipeline.Reports;
using Flywheel.Pipeline.Runs;

namespace Flywheel.Cli.Tests;

/// <summary>
/// A run's TensorBoard event files (tb/) hold what the run measured: read back record by record (TFRecord framing:
/// length, its CRC, the Event protobuf, its CRC) and parsed with TensorBoard's own Event message, the scalars per
/// step equal the reward model's logged steps, and those per round run.json's figures.
/// </summary>
public class TensorBoardLogTests
{
    /// <summary>Every scalar of the event files under <paramref name="dir"/>: (tag, step) → value.</summary>
    private static Dictionary<(string Tag, long Step), float> Scalars(string dir)
    {
        var scalars = new Dictionary<(string, long), float>();
        var files = Directory.GetFiles(dir, "events.out.tfevents.*", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (string file in files)
        {
            var bytes = File.ReadAllBytes(file);
            int at = 0, records = 0;
            while (at < bytes.Length)
            {
                long length = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(at));
                Assert.InRange(length, 0, bytes.Length - at - 16);
                var e = Tensorboard.Event.Parser.ParseFrom(bytes, at + 12, (int)length);
                at += 12 + (int)length + 4;
                records++;
                if (e.Summary is null) continue;
                foreach (var v in e.Summary.Value) scalars[(v.Tag, e.Step)] = v.SimpleValue;
            }
            Assert.Equal(bytes.Length, at);
            Assert.True(records >= 1, $"{file} holds no records");
        }
        return scalars;
    }

    [Fact]
    public async Task Event_files_hold_each_training_step_and_each_rounds_figures()
    {
        var setup = new TinyRun(prompts: 12, rounds: 2);
        string dir = setup.RunDir();
        var run = await setup.RunAsync();
        Assert.True(run.ExitCode == 0, run.Error);
        string tb = Path.Combine(dir, "tb");

        for (int round = 1; round <= 2; round++)
        {
            string rm = Path.Combine(dir, $"round-{round:000}", "rm");
            var steps = RewardModelLog.ReadSteps(RewardModelLog.LogPath(rm));
            var rmScalars = Scalars(Path.Combine(tb, $"round-{round:000}", "reward_model"));
            Assert.NotEmpty(steps);
            foreach (var s in steps)
            {
                Assert.Equal((float)s.Loss, rmScalars[("reward_model/loss", s.Step)]);
                Assert.Equal((float)s.TokensPerSecond, rmScalars[("reward_model/tokens_per_second", s.Step)]);
            }
            Assert.Equal(steps.Count, rmScalars.Keys.Count(k => k.Tag == "reward_model/loss"));
            var evaluation = Assert.Single(RewardModelLog.ReadEvaluations(RewardModelLog.LogPath(rm)));
            Assert.Equal((float)evaluation.Accuracy, rmScalars[("reward_model/heldout_accuracy", evaluation.Step)]);

            var sft = Scalars(Path.Combine(tb, $"round-{round:000}", "sft"));
            Assert.Contains(sft.Keys, k => k == ("sft/loss", 1));
        }

        var manifest = RunStore.Open(dir).Manifest;
        var rounds = Scalars(Path.Combine(tb, "rounds"));
        foreach (var r in manifest.Rounds)
        {
            Assert.Equal((float)r.Metrics.Pairs!.Value, rounds[("round/pairs", r.Round)]);
            Assert.Equal((float)r.Metrics.RmEvalAccuracy!.Value, rounds[("round/rm_heldout_accuracy", r.Round)]);
            Assert.Equal((float)r.Metrics.PassRateKept!.Value, rounds[("round/pass_rate_kept", r.Round)]);
            Assert.Equal((float)r.Metrics.RewardMeanAll!.Value, rounds[("reward_all/mean", r.Round)], 4);
            Assert.Equal((float)r.StageSeconds[Stage.TrainRm], rounds[("seconds/train_rm", r.Round)]);
            Assert.True(rounds[("reward_kept/min", r.Round)] >= rounds[("reward_all/min", r.Round)]);
        }
    }
}
