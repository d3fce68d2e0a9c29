using System.Diagnostics;
using System.Globalization;
using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Llama.Sampling;
using Flywheel.Pipeline.Demo;
using Flywheel.Training;
using Flywheel.Training.RewardModel;
using Flywheel.Training.Sft;

namespace Flywheel.Demo.Experiment;

/// <summary>A problem and the replies sampled for it, in candidate order.</summary>
internal sealed record Sampled(ArithmeticProblem Problem, IReadOnlyList<string> Replies);

/// <summary>
/// The flywheel's rounds on the engine APIs: verifier-labelled pairs on annotation prompts, a reward model initialised
/// from the round's policy, K candidates per selection prompt scored by that reward model (the verifier only measures),
/// the top N kept, SFT on them.
/// </summary>
internal sealed class Rounds(ExperimentSettings s, string work)
{
    private SamplingOptions Sampling(float temperature) => new()
    {
        Temperature = temperature, TopK = s.TopK, TopP = s.TopP, MinP = s.MinP, MaxNewTokens = s.MaxNewTokens,
    };

    private static IReadOnlyList<ChatMessage> Prompt(ArithmeticProblem p) => [new ChatMessage("user", p.Prompt)];

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var recipe = s.Recipe();
        var sets = DemoData.Split(recipe);
        string policy = s.Policy ?? FindCommittedPolicy();
        Console.WriteLine("round | pairs | RM acc train/held-out | cands | kept | reward all→kept | verifier all→kept | pass@1 in→out | s (annotate/rm/select/sft/eval)");
        double passIn = await PassAt1Async(policy, sets.Evaluation, s.Temperature, cancellationToken);
        double first = passIn;
        var total = Stopwatch.StartNew();
        for (int round = 1; round <= s.Rounds; round++)
        {
            var clock = Stopwatch.StartNew();
            var times = new List<double>();
            void Lap() { times.Add(clock.Elapsed.TotalSeconds - times.Sum()); }
            ulong seed = s.Seed * 1000 + (ulong)round;

            // 1. Annotation: the verifier labels the policy's own candidates, standing in for human raters.
            var annotated = await SampleAsync(policy, sets.Annotation, s.AnnotationK, Sampling(s.Temperature), seed, cancellationToken);
            var (train, heldOut) = Pairs(annotated, seed);
            Lap();

            // 2. The reward model, initialised from the round's policy.
            string rm = Path.Combine(work, $"rm-{round}.gguf");
            double accuracy, trainAccuracy;
            using (var trainer = new RewardModelTrainer(policy, new RewardModelOptions
            {
                Device = ComputeDevice.Cpu, Threads = s.Threads, Epochs = s.RmEpochs, LearningRate = s.RmLr, WeightDecay = s.RmWeightDecay,
                MaxLength = recipe.MaxLength, TokensPerBatch = s.RmBatchPairs * 2 * recipe.MaxLength, Seed = seed,
                CenterRewardsCoefficient = s.RmCenter,
            }))
            {
                var result = trainer.Train(train, heldOut, cancellationToken: cancellationToken);
                accuracy = result.Evaluations[^1].Accuracy;
                trainAccuracy = trainer.Evaluate(train, cancellationToken).Accuracy;
                trainer.Export(rm, $"flywheel-demo-rm-{round}");
            }
            Lap();

            // 3–4. K candidates per selection prompt, scored by the reward model; the top N kept.
            var candidates = await SampleAsync(policy, sets.Selection, s.K, Sampling(s.Temperature), seed ^ 0x5E1EC7UL, cancellationToken);
            var queries = candidates.SelectMany(c => c.Replies.Select(r => new RewardQuery(Prompt(c.Problem), r))).ToList();
            float[] rewards;
            using (var scorer = RewardScorer.Load(rm, new RewardScorerOptions { Threads = s.Threads, Device = ComputeDevice.Cpu }))
                rewards = scorer.Score(queries, cancellationToken: cancellationToken);
            var all = new List<(ArithmeticProblem Problem, string Reply, float Reward)>();
            var kept = new List<(ArithmeticProblem Problem, string Reply, float Reward)>();
            int q = 0;
            foreach (var c in candidates)
            {
                var scored = c.Replies.Select(r => (c.Problem, Reply: r, Reward: rewards[q++])).ToList();
                all.AddRange(scored);
                var ranked = scored.OrderByDescending(x => x.Reward).AsEnumerable();
                if (s.Dedupe) ranked = ranked.DistinctBy(x => x.Reply);
                kept.AddRange(ranked.Take(s.TopN));
            }
            Lap();

            // 5. SFT on the kept rows: the next round's policy.
            string next = Path.Combine(work, $"policy-{round}.gguf");
            using (var trainer = new SftTrainer(policy, new SftOptions
            {
                Device = ComputeDevice.Cpu, Threads = s.Threads, Epochs = s.SftEpochs, LearningRate = s.SftLr, MaxLength = recipe.MaxLength,
                TokensPerBatch = s.SftBatch * recipe.MaxLength, Seed = seed,
            }))
            {
                trainer.Train(kept.Select(k => DemoPolicy.Example(k.Problem.Prompt, k.Reply)).ToList(), cancellationToken: cancellationToken);
                trainer.Export(next, $"flywheel-demo-policy-{round}");
            }
            policy = next;
            Lap();

            double passOut = await PassAt1Async(policy, sets.Evaluation, s.Temperature, cancellationToken);
            Lap();
            double Pass(IEnumerable<(ArithmeticProblem Problem, string Reply, float Reward)> rows) =>
                rows.Average(r => ArithmeticTask.IsCorrect(r.Reply, r.Problem.Answer) ? 1.0 : 0.0);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{round,5} | {train.Count + heldOut.Count,5} | {trainAccuracy,4:P0}/{accuracy,6:P1} | {all.Count,5} | {kept.Count,4} | {all.Average(x => x.Reward),6:F2} → {kept.Average(x => x.Reward),5:F2} | {Pass(all),7:P1} → {Pass(kept),6:P1} | {passIn,6:P1} → {passOut,6:P1} | {clock.Elapsed.TotalSeconds,4:F0} ({string.Join('/', times.Select(t => t.ToString("F0", CultureInfo.InvariantCulture)))})"));
            passIn = passOut;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"pass@1 at T={s.Temperature}: round 1 policy {first:P1}, final policy {passIn:P1} ({(passIn - first) * 100:+0.0;-0.0} points); rounds took {total.Elapsed.TotalSeconds:F0} s"));
    }

    /// <summary>One round's annotation pairs, then reward models trained on them with a grid of settings.</summary>
    public async Task RewardModelSweepAsync(CancellationToken cancellationToken)
    {
        var recipe = s.Recipe();
        var sets = DemoData.Split(recipe);
        string policy = s.Policy ?? FindCommittedPolicy();
        var annotated = await SampleAsync(policy, sets.Annotation, s.AnnotationK, Sampling(s.Temperature), s.Seed, cancellationToken);
        var (train, heldOut) = Pairs(annotated, s.Seed);
        Console.WriteLine($"{train.Count} training pairs, {heldOut.Count} held out");
        foreach (var (layers, lr, epochs) in new (TrainableLayers, double, int)[]
        {
            (TrainableLayers.HeadOnly, 1e-2, 8), (TrainableLayers.All, 3e-4, 8), (TrainableLayers.All, 1e-3, 8), (TrainableLayers.All, 1e-3, 16),
            (TrainableLayers.All, 3e-3, 16), (TrainableLayers.Last(1), 1e-3, 16),
        })
        {
            var clock = Stopwatch.StartNew();
            using var trainer = new RewardModelTrainer(policy, new RewardModelOptions
            {
                Device = ComputeDevice.Cpu, Threads = s.Threads, Epochs = epochs, LearningRate = lr, WeightDecay = s.RmWeightDecay,
                MaxLength = recipe.MaxLength, TokensPerBatch = s.RmBatchPairs * 2 * recipe.MaxLength, Seed = s.Seed, Layers = layers,
            });
            var result = trainer.Train(train, heldOut, cancellationToken: cancellationToken);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{layers} lr {lr} × {epochs} epochs: train {trainer.Evaluate(train, cancellationToken).Accuracy:P1}, held-out {string.Join(" ", result.Evaluations.Select(e => e.Accuracy.ToString("P0", CultureInfo.InvariantCulture)))} ({clock.Elapsed.TotalSeconds:F0} s)"));
        }
    }

    /// <summary>
    /// Chosen = a correct reply, rejected = an incorrect one, distinct texts only, at most PairsPerPrompt per prompt;
    /// prompts where every or no reply is correct give none. Held-out pairs are whole prompts, so no prompt is in both.
    /// </summary>
    private (List<RewardPair> Train, List<RewardPair> HeldOut) Pairs(List<Sampled> annotated, ulong seed)
    {
        var perPrompt = new List<List<RewardPair>>();
        foreach (var a in annotated)
        {
            var correct = a.Replies.Where(r => ArithmeticTask.IsCorrect(r, a.Problem.Answer)).Distinct().ToList();
            var wrong = a.Replies.Where(r => !ArithmeticTask.IsCorrect(r, a.Problem.Answer)).Distinct().ToList();
            if (correct.Count == 0 || wrong.Count == 0) continue;
            int n = Math.Min(s.PairsPerPrompt, Math.Max(correct.Count, wrong.Count));
            perPrompt.Add(Enumerable.Range(0, n).Select(j => new RewardPair(Prompt(a.Problem), correct[j % correct.Count], wrong[j % wrong.Count])).ToList());
        }
        var order = perPrompt.ToArray();
        new DemoRandom(seed).Shuffle(order);
        int heldOut = (int)Math.Round(order.Length * s.RmEvalFraction);
        return (order[heldOut..].SelectMany(p => p).ToList(), order[..heldOut].SelectMany(p => p).ToList());
    }

    public async Task<double> PassAt1Async(string policy, IReadOnlyList<ArithmeticProblem> problems, float temperature, CancellationToken cancellationToken)
    {
        var sampled = await SampleAsync(policy, problems, temperature == 0 ? 1 : s.EvalSamples, Sampling(temperature), 0xE7A1UL, cancellationToken);
        return sampled.SelectMany(x => x.Replies.Select(r => ArithmeticTask.IsCorrect(r, x.Problem.Answer) ? 1.0 : 0.0)).Average();
    }

    public async Task<List<Sampled>> SampleAsync(string policy, IReadOnlyList<ArithmeticProblem> problems, int k, SamplingOptions sampling,
        ulong seed, CancellationToken cancellationToken)
    {
        using var model = LlamaModel.Load(policy, new ModelOptions { GpuLayers = 0 });
        var template = ChatTemplate.FromModel(model);
        using var sampler = new BatchedSampler(model, new BatchedSamplerOptions
        {
            Sequences = s.Sequences, ContextPerSequence = 64, BatchTokens = 1024, Threads = s.Threads,
        });
        var requests = problems.Select((p, i) => new GenerationRequest
        {
            PromptTokens = model.Vocabulary.Tokenize(template.Apply(Prompt(p)), addSpecial: true, parseSpecial: true),
            Candidates = k, Sampling = sampling, Seed = seed * 1_000_003 + (ulong)i, Tag = i,
        });
        var results = new Sampled[problems.Count];
        await foreach (var r in sampler.GenerateAsync(requests, cancellationToken))
        {
            int i = (int)r.Request.Tag!;
            results[i] = new Sampled(problems[i], r.Candidates.Select(c => c.Text).ToArray());
        }
        return [.. results];
    }

    public static string FindCommittedPolicy()
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Flywheel.sln"))) return Path.Combine(dir.FullName, "data", "demo", "policy.gguf");
        throw new FileNotFoundException("no Flywheel.sln above the working folder or the experiment's binaries: pass --policy");
    }
}
