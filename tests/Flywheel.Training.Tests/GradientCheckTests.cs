using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Training.Graph;
using Flywheel.Training.RewardModel;
using Flywheel.Training.Sft;
using Xunit.Abstractions;

namespace Flywheel.Training.Tests;

/// <summary>
/// ggml's gradients of the real training losses against central finite differences, for every trainable tensor: the
/// loss is differentiated along u = ĝ/‖ĝ‖ + ½·r/‖r‖ (r random), so a wrong magnitude or a wrong direction both show.
/// </summary>
public class GradientCheckTests(ITestOutputHelper output)
{
    private static readonly ChatMessage[] Prompt = [new("user", "What is 2+3?")];

    private static TrainingOptions Cpu => new() { Device = ComputeDevice.Cpu, Threads = 1, MaxLength = 64, TokensPerBatch = 256 };

    private double Check(ModelSession session, Func<GraphContext, IntPtr> loss)
    {
        double Loss()
        {
            using var g = session.Run("loss", train: false, loss);
            return GraphContext.Read(g.Result)[0];
        }
        session.Parameters.ClearGradients();
        using (session.Run("gradient", train: true, loss)) { }
        var random = new Random(1);
        double worst = 0;
        foreach (var p in session.Parameters.Trainable)
        {
            float[] grad = ParameterStore.Read(p.Gradient), w = ParameterStore.Read(p.Tensor);
            double gNorm = Math.Sqrt(grad.Sum(x => (double)x * x));
            var r = grad.Select(_ => random.NextDouble() - 0.5).ToArray();
            double rNorm = Math.Sqrt(r.Sum(x => x * x));
            var u = grad.Select((x, i) => (gNorm > 0 ? x / gNorm : 0) + 0.5 * r[i] / rNorm).ToArray();
            double analytic = grad.Select((x, i) => x * u[i]).Sum();
            const double eps = 2e-3;
            ParameterStore.Write(p.Tensor, w.Select((x, i) => (float)(x + eps * u[i])).ToArray());
            double plus = Loss();
            ParameterStore.Write(p.Tensor, w.Select((x, i) => (float)(x - eps * u[i])).ToArray());
            double minus = Loss();
            ParameterStore.Write(p.Tensor, w);
            double numeric = (plus - minus) / (2 * eps);
            double error = Math.Abs(numeric - analytic) / Math.Max(Math.Abs(numeric), 1e-3);
            output.WriteLine($"{p.Name,-28} |g| {gNorm:E2}  analytic {analytic:E4}  numeric {numeric:E4}  rel. error {error:E1}");
            Assert.True(gNorm > 0, $"{p.Name} has no gradient");
            worst = Math.Max(worst, error);
        }
        session.Parameters.ClearGradients();
        output.WriteLine($"worst relative error {worst:E2}");
        return worst;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Sft_cross_entropy_gradients_match_finite_differences_on_every_tensor(bool tied)
    {
        string path = TinyModels.WithRopeFreqs(TinyModels.Create("grad-sft.gguf", TinyModels.Small with { TiedOutput = tied }, seed: 4, initStd: 0.3f));
        using var trainer = new SftTrainer(path, new SftOptions { Device = ComputeDevice.Cpu, Threads = 1, MaxLength = 64, TokensPerBatch = 256 });
        SftExample[] examples = [new(Prompt, "5"), new([new("user", "Hi")], "Hello, friend.")];
        int expectedTensors = 2 + 9 * TinyModels.Small.Layers + (tied ? 0 : 1);
        Assert.Equal(expectedTensors, trainer.Session.Parameters.Trainable.Count());
        Assert.True(Check(trainer.Session, g => trainer.TrainingLoss(g, examples)) < 1e-2);
    }

    [Theory]
    [InlineData(RewardLoss.BradleyTerry)]
    [InlineData(RewardLoss.Focal)]
    public void Reward_model_gradients_match_finite_differences_on_every_tensor(RewardLoss loss)
    {
        string path = TinyModels.Create("grad-rm.gguf", TinyModels.Small, seed: 5, initStd: 0.3f);
        var options = new RewardModelOptions
        {
            Device = ComputeDevice.Cpu, Threads = 1, MaxLength = 64, TokensPerBatch = 256, Loss = loss,
            LogBarrierWeight = 0.1, LogBarrierLower = -1.5, LogBarrierUpper = 1.5, L2Weight = 0.05, CenterRewardsCoefficient = 0.1,
        };
        using var trainer = new RewardModelTrainer(path, options);
        // A non-zero head, so that the backbone has gradients; rewards stay inside the barrier's bounds, away from the
        // clamp's kinks, where finite differences would straddle a jump of the barrier's gradient.
        var head = trainer.Session.Parameters[RewardModelTrainer.HeadWeight];
        ParameterStore.Write(head.Tensor, Enumerable.Range(0, 32).Select(i => 0.1f * (float)Math.Sin(i + 1)).ToArray());
        RewardPair[] pairs =
        [
            new(Prompt, "5", "6", Margin: 0.5), new(Prompt, "five", "It is 23."), new([new("user", "Hi")], "Hello!", "Go away."),
        ];
        Assert.True(Check(trainer.Session, g => trainer.TrainingLoss(g, pairs)) < 1e-2);
    }
}
