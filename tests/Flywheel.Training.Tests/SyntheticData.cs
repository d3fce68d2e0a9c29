using Flywheel.Llama.Chat;
using Flywheel.Training.RewardModel;

namespace Flywheel.Training.Tests;

/// <summary>Small deterministic data sets.</summary>
internal static class SyntheticData
{
    /// <summary>Pairs whose chosen reply contains "good" somewhere in random letters and whose rejected reply contains "bad".</summary>
    public static List<RewardPair> GoodBadPairs(int count, int seed)
    {
        var random = new Random(seed);
        string Letters(int min, int max) => new(Enumerable.Range(0, random.Next(min, max + 1)).Select(_ => (char)('a' + random.Next(26))).ToArray());
        var pairs = new List<RewardPair>();
        for (int i = 0; i < count; i++)
        {
            var prompt = new[] { new ChatMessage("user", "rate " + Letters(2, 6)) };
            string before = Letters(0, 6), after = Letters(0, 6);
            pairs.Add(new RewardPair(prompt, $"{before} good {after}", $"{Letters(0, 6)} bad {Letters(0, 6)}"));
        }
        return pairs;
    }
}
