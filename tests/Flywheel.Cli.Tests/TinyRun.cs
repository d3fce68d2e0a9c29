using System.Text.Json;
using System.Text.Json.Nodes;
using Flywheel.Llama.Gguf;

namespace Flywheel.Cli.Tests;

/// <summary>
/// A small but complete flywheel setup in a temporary folder: a tiny policy, arithmetic prompts with answers, static
/// preference pairs, and a config for a short run. Small enough for a 2-round run in seconds on one thread.
/// </summary>
internal sealed class TinyRun
{
    public TinyRun(int prompts = 12, int rounds = 2, int partSize = 3, int maxNewTokens = 6)
    {
        Directory = CliRunner.TempDir();
        string policy = Path.Combine(Directory, "policy.gguf");
        TinyLlama.Create(policy, new TinyLlamaOptions
        {
            Seed = 3,
            InitStd = 0.2f,
            Hyperparameters = new LlamaHyperparameters { EmbeddingLength = 32, Layers = 1, Heads = 2, KvHeads = 1, FeedForwardLength = 64, ContextLength = 256 },
        });
        var random = new Random(5);
        File.WriteAllLines(Path.Combine(Directory, "prompts.jsonl"), Enumerable.Range(0, prompts).Select(i =>
        {
            int a = random.Next(10), b = random.Next(10);
            return JsonSerializer.Serialize(new { id = $"p{i}", prompt = $"{a}+{b}=", answer = $"{a + b}" });
        }));
        File.WriteAllLines(Path.Combine(Directory, "pairs.jsonl"), Enumerable.Range(0, 40).Select(i =>
        {
            int a = i % 10, b = i / 10;
            return JsonSerializer.Serialize(new { prompt = $"{a}+{b}=", chosen = $"{a + b}", rejected = $"{a + b + 1 + i % 3}" });
        }));
        ConfigPath = Path.Combine(Directory, "flywheel.json");
        File.WriteAllText(ConfigPath, $$"""
            {
              "name": "tiny",
              "rounds": {{rounds}},
              "seed": 7,
              "threads": 1,
              "device": "cpu",
              "policy": { "model": "policy.gguf" },
              "prompts": { "path": "prompts.jsonl" },
              "preferences": [ { "path": "pairs.jsonl" } ],
              "reward_model": { "epochs": 1, "learning_rate": 0.001, "batch_pairs": 8, "max_length": 32, "eval_fraction": 0.2, "checkpoint_every_steps": 2 },
              "sampling": { "k": 4, "temperature": 1.0, "max_new_tokens": {{maxNewTokens}}, "sequences": 8, "part_size": {{partSize}} },
              "selection": { "top_n": 2, "dedupe": false },
              "sft": { "enabled": true, "epochs": 1, "learning_rate": 0.001, "batch_sequences": 8, "max_length": 32, "checkpoint_every_steps": 2 },
              "verifier": "exact"
            }
            """);
    }

    public string Directory { get; }
    public string ConfigPath { get; }

    public string RunDir(string name = "run") => Path.Combine(Directory, name);

    /// <summary>`flywheel run` on this config into <see cref="RunDir"/>, quietly, in process.</summary>
    public Task<CliRunner.Result> RunAsync(params string[] extra) => RunInAsync(RunDir(), extra);

    /// <summary>`flywheel run` on this config into <paramref name="runDir"/>, quietly, in process.</summary>
    public Task<CliRunner.Result> RunInAsync(string runDir, params string[] extra) =>
        CliRunner.RunAsync(["run", "--config", ConfigPath, "--run-dir", runDir, "--quiet", .. extra]);

    /// <summary>Bad input found before gather and reward-model training spent their minutes: no stage of round 1 has started.</summary>
    public void AssertRound1NotStarted() =>
        Assert.All(Pipeline.Runs.RunStore.Open(RunDir()).Manifest.Round(1).Stages.Values, s => Assert.Equal(Pipeline.Runs.StageState.Pending, s));

    /// <summary>
    /// After a --skip-bad run whose prompts file had one bad row added at line 13: round 1 set that row aside (counted,
    /// with its reason in rejects-prompts.jsonl) and sampled the 12 good prompts as ever. The reject record.
    /// </summary>
    public JsonNode SoleRejectedPrompt()
    {
        var round = Pipeline.Runs.RunStore.Open(RunDir()).Manifest.Round(1);
        Assert.Equal(1, round.Metrics.RowsRejected);
        Assert.Equal(12 * 4, round.Metrics.Candidates);
        var reject = JsonNode.Parse(File.ReadAllLines(Path.Combine(RunDir(), "round-001", "rejects-prompts.jsonl")).Single())!;
        Assert.Equal("prompts.jsonl:13", (string)reject["source"]!);
        return reject;
    }
}
