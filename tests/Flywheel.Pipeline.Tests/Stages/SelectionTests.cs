using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Stages;

namespace Flywheel.Pipeline.Tests.Stages;

public class SelectionTests
{
    private static CandidateRow Row(int candidate, double reward, string completion) => new()
    {
        PromptId = "p", PromptIndex = 0, Prompt = "q", PromptMessages = [], Candidate = candidate, Completion = completion,
        Tokens = 1, TokenIds = [1], PromptTokenIds = [1, 2], FinishReason = "Length", Reward = reward, Round = 1, Policy = "p", RewardModel = "rm",
    };

    [Fact]
    public void The_top_n_by_reward_are_kept_ties_broken_by_candidate_index()
    {
        var rows = new[] { Row(0, 0.5, "a"), Row(1, 2.0, "b"), Row(2, 0.5, "c"), Row(3, -1, "d") };
        var ranked = Selection.Rank(rows, new SelectionConfig { TopN = 2 }, double.NegativeInfinity);
        Assert.Equal(["b", "a", "c", "d"], ranked.Select(r => r.Completion));
        Assert.Equal([1, 2, 3, 4], ranked.Select(r => r.Rank));
        Assert.Equal([true, true, false, false], ranked.Select(r => r.Kept));
    }

    [Fact]
    public void Dedupe_min_reward_and_top_quartile_filter_what_is_kept()
    {
        var rows = new[] { Row(0, 3, "same"), Row(1, 2, "same"), Row(2, 1, "other"), Row(3, 0, "") };
        var deduped = Selection.Rank(rows, new SelectionConfig { TopN = 2, Dedupe = true }, double.NegativeInfinity);
        Assert.Equal(["same", "other"], deduped.Where(r => r.Kept).Select(r => r.Completion));
        var min = Selection.Rank(rows, new SelectionConfig { TopN = 3, Dedupe = false, MinReward = 1.5 }, double.NegativeInfinity);
        Assert.Equal(2, min.Count(r => r.Kept));
        double q = Selection.TopQuartileThreshold([0, 1, 2, 3, 4, 5, 6, 7, 8]);
        Assert.Equal(6, q);
        var quartile = Selection.Rank(rows, new SelectionConfig { TopN = 4, Dedupe = false, TopQuartile = true }, 2.5);
        Assert.Equal(["same"], quartile.Where(r => r.Kept).Select(r => r.Completion));
    }
}
