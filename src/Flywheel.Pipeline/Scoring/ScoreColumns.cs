namespace Flywheel.Pipeline.Scoring;

/// <summary>The columns <c>flywheel score</c> writes.</summary>
internal static class ScoreColumns
{
    public const string Reward = "reward";
    public const string ChosenReward = "chosen_reward";
    public const string RejectedReward = "rejected_reward";

    public static IReadOnlyList<string> For(bool pairs) => pairs ? [ChosenReward, RejectedReward] : [Reward];
}
