using System.Text.Json;
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
}
