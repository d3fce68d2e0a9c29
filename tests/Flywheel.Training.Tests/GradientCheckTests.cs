using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Training.RewardModel;
using Flywheel.Training.Sft;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Flywheel.Training.Tests;

/// <summary>
/// The gradients of the real training losses against central finite differences, for every trainable tensor: what we
/// wrote ourselves (RMSNorm, RoPE in both layouts, the packed attention, the chunked cross-entropy with its hand-made
/// gradient, the reward losses, LoRA) sits on the path of each. The loss is differentiated along u = ĝ/‖ĝ‖ + ½·r/‖r‖
/// (r random), so a wrong magnitude or a wrong direction both show.
/// </summary>
public class GradientCheckTests(ITestOutputHelper output)
{
    private static readonly ChatMessage[] Prompt = [new("user", "What is 2+3?")];

    private double Check(IReadOnlyList<(string Name, Parameter Parameter)> parameters, Func<Tensor> objective, Func<double> loss)
    {
        foreach (var (_, p) in parameters) p.grad?.zero_();
        using (var o = objective()) o.backward();
        var random = new Random(1);
        double worst = 0;
        foreach (var (name, p) in parameters)
        {
            float[] grad = Values(p.grad!), w = Values(p);
            double gNorm = Math.Sqrt(grad.Sum(x => (double)x * x));
            var r = grad.Select(_ => random.NextDouble() - 0.5).ToArray();
            double rNorm = Math.Sqrt(r.Sum(x => x * x));
            var u = grad.Select((x, i) => (gNorm > 0 ? x / gNorm : 0) + 0.5 * r[i] / rNorm).ToArray();
            double analytic = grad.Select((x, i) => x * u[i]).Sum();
            const double eps = 2e-3;
            Set(p, w.Select((x, i) => (float)(x + eps * u[i])).ToArray());
            double plus = loss();
            Set(p, w.Select((x, i) => (float)(x - eps * u[i])).ToArray());
            double minus = loss();
            Set(p, w);
            double numeric = (plus - minus) / (2 * eps);
            double error = Math.Abs(numeric - analytic) / Math.Max(Math.Abs(numeric), 1e-3);
            output.WriteLine($"{name,-32} |g| {gNorm:E2}  analytic {analytic:E4}  numeric {numeric:E4}  rel. error {error:E1}");
            Assert.True(gNorm > 0, $"{name} has no gradient");
            worst = Math.Max(worst, error);
        }
        output.WriteLine($"worst relative error {worst:E2}");
        return worst;
    }

    internal static float[] Values(Tensor t)
    {
        using var cpu = t.detach().cpu().contiguous();
        return cpu.data<float>().ToArray();
    }

    internal static void Set(Parameter p, float[] values)
    {
        using var _ = no_grad();
        using var t = tensor(values, p.shape, ScalarType.Float32);
        p.copy_(t);
    }

    // LoRA's B starts at zero, where A has no gradient: give every adapter a B to differentiate through.
    private static void DrawLoraB(TrainerSession session)
    {
        var random = new Random(3);
        foreach (var (name, p) in session.Trainable.Where(t => t.Name.EndsWith(".lora_b", StringComparison.Ordinal)))
            Set(p, Enumerable.Range(0, (int)p.numel()).Select(_ => (float)(0.2 * (random.NextDouble() - 0.5))).ToArray());
    }

    [Theory]
    [InlineData("llama", false, false)]
    [InlineData("llama", true, false)]
    [InlineData("qwen2", true, false)]
    [InlineData("llama", false, true)]
    public void Sft_cross_entropy_gradients_match_finite_differences_on_every_tensor(string architecture, bool tied, bool lora)
    {
        var hp = TinyModels.Small with { Architecture = architecture, TiedOutput = tied };
        string path = TinyModels.Create("grad-sft.gguf", hp, seed: 4, initStd: 0.3f);
        // Llama 3's rope_freqs on the llama architecture (llama.cpp reads them for no other).
        if (architecture == "llama") path = TinyModels.WithRopeFreqs(path);
        var options = new SftOptions
        {
            Device = ComputeDevice.Cpu, Threads = 1, MaxLength = 64, TokensPerBatch = 256,
            Layers = lora ? TrainableLayers.WithLora(new LoraOptions { Rank = 2, Alpha = 4 }) : TrainableLayers.All,
        };
        using var trainer = new SftTrainer(path, options);
        SftExample[] examples = [new(Prompt, "5"), new([new("user", "Hi")], "Hello, friend.")];
        int perLayer = lora ? 2 * 7 : 9 + (architecture == "qwen2" ? 3 : 0);
        int expectedTensors = perLayer * hp.Layers + (lora ? 0 : 2 + (tied ? 0 : 1));
        Assert.Equal(expectedTensors, trainer.Session.Trainable.Count);
        if (lora) DrawLoraB(trainer.Session);
        double Loss()
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            return trainer.TrainingLoss(examples).Loss;
        }
        Assert.True(Check(trainer.Session.Trainable, () => trainer.TrainingLoss(examples).Objective, Loss) < 1e-2);
    }

    [Theory]
    [InlineData(RewardLoss.BradleyTerry, "llama", false)]
    [InlineData(RewardLoss.Focal, "qwen2", false)]
    [InlineData(RewardLoss.BradleyTerry, "llama", true)]
    public void Reward_model_gradients_match_finite_differences_on_every_tensor(RewardLoss loss, string architecture, bool lora)
    {
        string path = TinyModels.Create("grad-rm.gguf", TinyModels.Small with { Architecture = architecture }, seed: 5, initStd: 0.3f);
        var options = new RewardModelOptions
        {
            Device = ComputeDevice.Cpu, Threads = 1, MaxLength = 64, TokensPerBatch = 256, Loss = loss,
            LogBarrierWeight = 0.1, LogBarrierLower = -1.5, LogBarrierUpper = 1.5, L2Weight = 0.05, CenterRewardsCoefficient = 0.1,
            Layers = lora ? TrainableLayers.WithLora(new LoraOptions { Rank = 2, Alpha = 4, Targets = [LoraTarget.Q, LoraTarget.V, LoraTarget.Down] }) : TrainableLayers.All,
        };
        using var trainer = new RewardModelTrainer(path, options);
        // A non-zero head, so that the backbone has gradients; rewards stay inside the barrier's bounds, away from the
        // clamp's kinks, where finite differences would straddle a jump of the barrier's gradient.
        Set(trainer.Session.Extra(RewardModelTrainer.HeadWeight), Enumerable.Range(0, 32).Select(i => 0.1f * (float)Math.Sin(i + 1)).ToArray());
        if (lora)
        {
            DrawLoraB(trainer.Session);
            Assert.Equal(2 * 3 * TinyModels.Small.Layers + 2, trainer.Session.Trainable.Count);
        }
        RewardPair[] pairs =
        [
            new(Prompt, "5", "6", Margin: 0.5), new(Prompt, "five", "It is 23."), new([new("user", "Hi")], "Hello!", "Go away."),
        ];
        double Loss()
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            return trainer.TrainingLoss(pairs).item<float>();
        }
        Assert.True(Check(trainer.Session.Trainable, () => trainer.TrainingLoss(pairs), Loss) < 1e-2);
    }
}
