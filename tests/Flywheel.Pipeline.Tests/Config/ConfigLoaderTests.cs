using Flywheel.Pipeline.Config;

namespace Flywheel.Pipeline.Tests.Config;

public class ConfigLoaderTests
{
    private static string Write(string json)
    {
        string dir = Directory.CreateTempSubdirectory("flywheel-config-").FullName;
        string path = Path.Combine(dir, "flywheel.json");
        File.WriteAllText(path, json);
        return path;
    }

    private const string Minimal = """
        {
          "name": "t",
          "policy": { "model": "models/p.gguf" },
          "prompts": { "path": "prompts.jsonl" },
          "preferences": [ { "path": "pairs.jsonl" } ]
        }
        """;

    [Fact]
    public void A_minimal_config_loads_with_defaults_and_paths_resolved_against_its_folder()
    {
        string path = Write(Minimal);
        var c = ConfigLoader.Load(path);
        Assert.Equal("t", c.Name);
        Assert.Equal(6, c.Rounds);
        Assert.Equal(8, c.Sampling.K);
        Assert.Equal("models/p.gguf", c.Policy.Model);
        var resolved = ConfigLoader.Resolve(c);
        Assert.Equal(Path.Combine(Path.GetDirectoryName(path)!, "models", "p.gguf"), resolved.Policy.Model);
        Assert.Equal(Path.Combine(Path.GetDirectoryName(path)!, "pairs.jsonl"), resolved.Preferences[0].Path);
    }

    [Theory]
    [InlineData("\"sampling\": { \"tempreature\": 0.5 }", "$.sampling.tempreature: unknown key 'tempreature'; did you mean 'temperature'? (keys here: k, temperature,")]
    [InlineData("\"rounds\": \"six\"", "$.rounds: expected a whole number")]
    [InlineData("\"sampling\": { \"temperature\": \"hot\" }", "$.sampling.temperature: expected a number")]
    [InlineData("\"preferences\": 3", "$.preferences: expected a list")]
    public void Config_errors_speak_of_keys_and_kinds_of_value_not_of_dotnet_types(string entry, string expected)
    {
        string path = Write(Minimal.Replace("\"name\": \"t\",", $"\"name\": \"t\", {entry},", StringComparison.Ordinal));
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.StartsWith($"{path}: {expected}", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Flywheel.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoRA_and_the_reward_token_are_read_and_bad_LoRA_settings_named_by_path()
    {
        string path = Write(Minimal.Replace("\"name\": \"t\",", """
            "name": "t",
            "reward_model": { "train": "lora", "lora": { "rank": 4, "alpha": 8, "dropout": 0.1, "targets": ["q", "v", "down"] }, "reward_token": "<|reserved_special_token_0|>" },
            "sft": { "train": "lora" },
            """, StringComparison.Ordinal));
        var c = ConfigLoader.Load(path);
        Assert.Equal("lora", c.RewardModel.Train);
        Assert.Equal(4, c.RewardModel.Lora.Rank);
        Assert.Equal([Flywheel.Training.LoraTarget.Q, Flywheel.Training.LoraTarget.V, Flywheel.Training.LoraTarget.Down], c.RewardModel.Lora.Targets);
        Assert.Equal("<|reserved_special_token_0|>", c.RewardModel.RewardToken);
        Assert.Equal(7, c.Sft.Lora.Targets.Count);
        // The same config written back reads the same (the run's stored copy).
        Assert.Equal(ConfigLoader.Hash(c), ConfigLoader.Hash(ConfigLoader.Load(Write(ConfigLoader.ToJson(c)))));

        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(Write(Minimal.Replace("\"name\": \"t\",", "\"name\": \"t\", \"sft\": { \"lora\": { \"rank\": 0 } },", StringComparison.Ordinal))));
        Assert.Contains("$.sft.lora: LoRA rank must be ≥ 1, got 0", e.Message);
        e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(Write(Minimal.Replace("\"name\": \"t\",", "\"name\": \"t\", \"reward_model\": { \"lora\": { \"targets\": [\"qkv\"] } },", StringComparison.Ordinal))));
        Assert.Contains("$.reward_model.lora.targets", e.Message);
    }

    [Fact]
    public void Resilience_settings_reach_the_pipelines_options()
    {
        var c = ConfigLoader.Load(Write(Minimal.Replace("\"name\": \"t\",", "\"name\": \"t\", \"resilience\": { \"backend_timeout_seconds\": 90, \"retries\": 5, \"retry_delay_seconds\": 1.5 },", StringComparison.Ordinal)));
        var options = c.Resilience.ToOptions();
        Assert.Equal(TimeSpan.FromSeconds(90), options.BackendTimeout);
        Assert.Equal(5, options.Retries);
        Assert.Equal(TimeSpan.FromSeconds(1.5), options.RetryDelay);
        Assert.Equal(new Flywheel.Pipeline.Resilience.ResilienceOptions(), new ResilienceConfig().ToOptions()); // the same defaults
    }

    [Fact]
    public void The_hash_is_taken_over_the_paths_as_written_so_a_moved_clone_keeps_it()
    {
        var here = ConfigLoader.Load(Write(Minimal));
        var there = ConfigLoader.Load(Write(Minimal));
        Assert.NotEqual(here.BaseDirectory, there.BaseDirectory);
        Assert.Equal(ConfigLoader.Hash(here), ConfigLoader.Hash(there));
        Assert.NotEqual(ConfigLoader.Resolve(here).Policy.Model, ConfigLoader.Resolve(there).Policy.Model);
    }

    [Theory]
    [InlineData("\"sampling\": { \"k\": 0 }", "$.sampling.k: must be ≥ 1, got 0")]
    [InlineData("\"sampling\": { \"top_p\": 1.5 }", "$.sampling.top_p: must be in (0, 1]")]
    [InlineData("\"selection\": { \"top_n\": 9 }", "$.selection.top_n: must be 1 to k (8), got 9")]
    [InlineData("\"device\": \"tpu\"", "$.device: must be auto, cpu or cuda, got 'tpu'")]
    [InlineData("\"evaluation\": { \"path\": \"e.jsonl\" }", "$.evaluation: needs a verifier")]
    [InlineData("\"evaluation\": { \"path\": \"\" }, \"verifier\": \"exact\"", "$.evaluation.path: is required")]
    [InlineData("\"reward_model\": { \"train\": \"last:x\" }", "$.reward_model.train: must be all, head, last:N or lora")]
    [InlineData("\"sampling\": { \"kv_memory_gib\": 0 }", "$.sampling.kv_memory_gib: must be > 0, got 0")]
    [InlineData("\"resilience\": { \"backend_timeout_seconds\": 0 }", "$.resilience.backend_timeout_seconds: must be in (0.01, 86400), got 0")]
    [InlineData("\"resilience\": { \"retries\": 0 }", "$.resilience.retries: must be ≥ 1, got 0")]
    public void Invalid_values_are_refused_naming_the_json_path(string fragment, string expected)
    {
        string path = Write(Minimal.Replace("\"name\": \"t\",", $"\"name\": \"t\", {fragment},"));
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Unknown_keys_and_wrong_types_name_their_path()
    {
        var unknown = Assert.Throws<ConfigException>(() => ConfigLoader.Load(Write(Minimal.Replace("\"name\": \"t\",", "\"name\": \"t\", \"sampling\": { \"kk\": 3 },"))));
        Assert.Contains("kk", unknown.Message);
        var type = Assert.Throws<ConfigException>(() => ConfigLoader.Load(Write(Minimal.Replace("\"name\": \"t\",", "\"name\": \"t\", \"rounds\": \"six\","))));
        Assert.Contains("$.rounds", type.Message);
        var both = Assert.Throws<ConfigException>(() => ConfigLoader.Load(Write(Minimal.Replace("{ \"path\": \"pairs.jsonl\" }", "{ }"))));
        Assert.Contains("$.preferences[0]: needs exactly one of 'path' and 'annotator'", both.Message);
    }

    [Fact]
    public void The_hash_is_stable_and_differences_name_the_changed_paths()
    {
        var a = ConfigLoader.Load(Write(Minimal));
        var b = a with { Sampling = a.Sampling with { Temperature = 0.5f }, Selection = a.Selection with { TopN = 2 } };
        Assert.Equal(ConfigLoader.Hash(a), ConfigLoader.Hash(a with { }));
        Assert.NotEqual(ConfigLoader.Hash(a), ConfigLoader.Hash(b));
        Assert.Equal(["$.sampling.temperature", "$.selection.top_n"], ConfigLoader.Differences(a, b));
    }

    [Fact]
    public async Task The_shipped_configs_are_valid_and_every_prompts_file_they_name_reads()
    {
        string root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
        var configs = Directory.GetFiles(Path.Combine(root, "pipelines"), "*.json").Append(Path.Combine(root, "flywheel.json")).Where(File.Exists).ToList();
        Assert.NotEmpty(configs);
        foreach (var path in configs)
        {
            var c = ConfigLoader.Resolve(ConfigLoader.Load(path));
            var prompts = new[] { c.Prompts.Path, c.Evaluation?.Path }.Concat(c.Preferences.Select(p => p.Annotator?.Prompts)).OfType<string>();
            foreach (var file in prompts)
                Assert.True(await Flywheel.Pipeline.Datasets.PromptDatasets.ReadAsync(file).CountAsync() > 0, $"{path}: {file} has no prompts");
        }
    }

    [Fact]
    public void The_root_flywheel_json_is_the_demo_recommended_config()
    {
        string root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
        var top = ConfigLoader.Load(Path.Combine(root, "flywheel.json"));
        var demo = ConfigLoader.Load(Path.Combine(root, "data", "demo", "flywheel.demo.json"));
        // Both resolve their relative paths to the same files, so they are the same config.
        Assert.Equal(ConfigLoader.ToJson(ConfigLoader.Resolve(demo)), ConfigLoader.ToJson(ConfigLoader.Resolve(top)));
    }
}
