using System.Text.Json;
using System.Text.Json.Nodes;

namespace Flywheel.Cli.Tests;

/// <summary>
/// What can be checked before round 1 is: the config against the models, the prompts against the verifier, the
/// samplers' KV cache against its budget. Each stops the run with exit code 2 and one line naming the key or file:line.
/// </summary>
public class EarlyCheckTests
{
    private static void EditConfig(TinyRun setup, Action<JsonNode> edit)
    {
        var config = JsonNode.Parse(File.ReadAllText(setup.ConfigPath))!;
        edit(config);
        File.WriteAllText(setup.ConfigPath, config.ToJsonString());
    }

    private static void AssertStoppedBeforeRound1(TinyRun setup, CliRunner.Result r, string expected)
    {
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"flywheel: {expected}", r.Error.TrimEnd());
        setup.AssertRound1NotStarted();
    }

    [Fact]
    public async Task Sampling_over_the_KV_budget_stops_before_round_1_saying_what_to_lower_and_a_larger_budget_continues_the_run()
    {
        var setup = new TinyRun(rounds: 1);
        EditConfig(setup, c => c["sampling"]!["kv_memory_gib"] = 1e-6);
        var r = await setup.RunAsync();
        // The policy: 1 layer × 1 KV head × (16 + 16) × 2 bytes = 64 B a token; its longest prompt and 6 new tokens pad to 256.
        AssertStoppedBeforeRound1(setup, r,
            "sampling needs 128.0 KiB of KV cache (8 sequences × 256 tokens × 64 B); the budget is 1.0 KiB: lower sampling.sequences or sampling.max_new_tokens, or raise sampling.kv_memory_gib");

        // The budget changes no row: the same run continues with a larger one, without --force.
        EditConfig(setup, c => c["sampling"]!["kv_memory_gib"] = 0.5);
        var raised = await setup.RunAsync();
        Assert.True(raised.ExitCode == 0, raised.Error);
    }

    public static TheoryData<string, string, string> ConfigAgainstModel => new()
    {
        { "reward_model", """{"train": "last:5"}""", "$.reward_model.train: last:5 asked for, but {policy} has 1 layers" },
        { "reward_model", """{"max_length": 300}""", "$.reward_model.max_length: 300 exceeds {policy}'s context length of 256" },
        { "sft", """{"max_length": 257}""", "$.sft.max_length: 257 exceeds {policy}'s context length of 256" },
        { "reward_model", """{"reward_token": "ab"}""", "$.reward_model.reward_token: reward token 'ab' is 2 tokens in {policy}'s vocabulary, not one" },
        { "reward_model", """{"reward_token": "99999"}""", "$.reward_model.reward_token: reward token id 99999 is outside {policy}'s vocabulary of 263" },
        { "policy", """{"chat_template": "no-such-template"}""", "$.policy.chat_template: unknown chat template 'no-such-template'; built-in templates: " },
    };

    [Theory]
    [MemberData(nameof(ConfigAgainstModel))]
    public async Task A_config_the_model_cannot_take_stops_before_round_1_naming_the_key(string section, string settings, string expected)
    {
        var setup = new TinyRun(rounds: 1);
        EditConfig(setup, c =>
        {
            foreach (var (key, value) in JsonNode.Parse(settings)!.AsObject()) c[section]![key] = value?.DeepClone();
        });
        var r = await setup.RunAsync();
        expected = expected.Replace("{policy}", Path.Combine(setup.Directory, "policy.gguf"));
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Error.TrimEnd().Split('\n'));
        Assert.StartsWith($"flywheel: {expected}", r.Error, StringComparison.Ordinal);
        setup.AssertRound1NotStarted();
    }

    [Fact]
    public async Task A_prompt_without_the_answer_the_verifier_needs_stops_before_round_1_and_with_skip_bad_is_set_aside()
    {
        var setup = new TinyRun(rounds: 1);
        File.AppendAllLines(Path.Combine(setup.Directory, "prompts.jsonl"), [JsonSerializer.Serialize(new { id = "unanswered", prompt = "1+1=" })]);
        var r = await setup.RunAsync();
        AssertStoppedBeforeRound1(setup, r, "prompts.jsonl:13: prompt 'unanswered' has no reference answer, which the exact verifier needs");

        var skipped = await setup.RunAsync("--skip-bad");
        Assert.True(skipped.ExitCode == 0, skipped.Error);
        setup.SoleRejectedPrompt();
    }
}
