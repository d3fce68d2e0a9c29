using System.Text.Json.Nodes;
using Flywheel.Llama;
using Flywheel.Pipeline;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Resilience;
using Flywheel.Pipeline.Runs;
using Flywheel.Pipeline.Stages;

namespace Flywheel.Cli.Tests;

/// <summary>
/// The annotator (the demo's only source of pairs) samples the policy on its prompts and pairs a candidate the verifier
/// passes (chosen) with one it fails (rejected): every pair it writes is so, per prompt at most pairs_per_prompt, the
/// same pairs every time; with reference_when_none_correct, a prompt the policy never solved pairs its reference.
/// </summary>
public class AnnotatorTests
{
    private const int Prompts = 24;

    [Fact]
    public async Task Every_pair_is_a_correct_candidate_over_a_wrong_one_and_the_same_every_time()
    {
        var config = DemoConfig(referenceWhenNoneCorrect: false);
        var pairs = await GatherAsync(config);
        var again = await GatherAsync(config);
        Assert.Equal(pairs.Select(p => p.ToJsonString()), again.Select(p => p.ToJsonString()));

        var answers = AnnotationAnswers();
        Assert.NotEmpty(pairs);
        foreach (var pair in pairs)
        {
            string prompt = UserTurn(pair);
            string chosen = (string)pair["chosen"]!, rejected = (string)pair["rejected"]!;
            Assert.Equal(answers[prompt], chosen.Trim());
            Assert.NotEqual(answers[prompt], rejected.Trim());
        }
        Assert.All(pairs.GroupBy(UserTurn), g => Assert.InRange(g.Count(), 1, 2));
        Assert.All(pairs.GroupBy(UserTurn), g => Assert.Equal(g.Count(), g.Select(p => ((string)p["chosen"]!, (string)p["rejected"]!)).Distinct().Count()));
    }

    [Fact]
    public async Task With_reference_when_none_correct_a_prompt_the_policy_never_solved_pairs_its_reference()
    {
        var plain = await GatherAsync(DemoConfig(referenceWhenNoneCorrect: false));
        var withReference = await GatherAsync(DemoConfig(referenceWhenNoneCorrect: true));
        var solved = plain.Select(UserTurn).ToHashSet();
        var added = withReference.Where(p => !solved.Contains(UserTurn(p))).ToList();
        // The starting demo policy solves about 40% of its prompts: some of 24 surely go unsolved by all 8 candidates.
        Assert.NotEmpty(added);
        var answers = AnnotationAnswers();
        Assert.All(added, p => Assert.Equal(answers[UserTurn(p)], (string)p["chosen"]!));
        // The prompts the policy did solve pair as before.
        Assert.Equal(plain.Select(p => p.ToJsonString()), withReference.Where(p => solved.Contains(UserTurn(p))).Select(p => p.ToJsonString()));
    }

    private static string UserTurn(JsonNode pair) => (string)pair["prompt"]!.AsArray().Last(m => (string)m!["role"]! == "user")!["content"]!;

    private static string Repo => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));

    private static Dictionary<string, string> AnnotationAnswers() => File.ReadLines(Path.Combine(Repo, "data", "demo", "annotation.jsonl"))
        .Take(Prompts).Select(l => JsonNode.Parse(l)!).ToDictionary(n => (string)n["prompt"]!, n => (string)n["answer"]!);

    private static FlywheelConfig DemoConfig(bool referenceWhenNoneCorrect)
    {
        var demo = ConfigLoader.Load(Path.Combine(Repo, "flywheel.json"));
        var annotator = demo.Preferences.Single().Annotator!;
        return ConfigLoader.Resolve(demo with { Preferences = [new PreferenceSourceConfig { Annotator = annotator with { Limit = Prompts, ReferenceWhenNoneCorrect = referenceWhenNoneCorrect } }] });
    }

    /// <summary>Round 1's gather stage of a new run with <paramref name="config"/>: the pairs it wrote.</summary>
    private static async Task<List<JsonNode>> GatherAsync(FlywheelConfig config)
    {
        using var store = RunStore.OpenOrCreate(CliRunner.TempDir(), config, 1, force: false);
        store.Update(m => m.Round(1).Policy = store.ToRecorded(config.Policy.Model));
        var checks = await RunChecks.RunAsync(config, config.Policy.Model, null, skipBad: false, CancellationToken.None);
        var ctx = new RoundContext
        {
            Store = store,
            Config = config,
            Round = 1,
            Device = ComputeDevice.Cpu,
            Resilience = new ResiliencePipelines(_ => { }),
            Progress = new Progress<PipelineEvent>(),
            Log = _ => { },
            LongestPrompt = checks.LongestPrompt,
            SelectionPrompts = checks.SelectionPrompts,
        };
        await GatherStage.RunAsync(ctx, CancellationToken.None);
        return File.ReadLines(ctx.PairsPath).Select(l => JsonNode.Parse(l)!).ToList();
    }
}
