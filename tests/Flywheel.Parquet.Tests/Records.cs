namespace Flywheel.Parquet.Tests;

/// <summary>A chat message, as in the SFT row's messages list.</summary>
public sealed record Message(string Role, string Content);

/// <summary>The SFT row of DESIGN.md.</summary>
public sealed class SftRow
{
    public List<Message>? Messages { get; set; }

    public string PromptId { get; set; } = "";

    public string Prompt { get; set; } = "";

    public string? Completion { get; set; }

    public double Reward { get; set; }

    public int Rank { get; set; }

    public int Round { get; set; }

    public string Policy { get; set; } = "";

    public string RewardModel { get; set; } = "";
}

public sealed record PreferencePair(string Prompt, string Chosen, string Rejected, double? Margin);

public sealed record PromptRecord([property: ParquetColumn("id")] string PromptId, string Prompt, string? Answer);

public sealed class Scores
{
    public float Min { get; set; }

    public double? Mean { get; set; }

    public IReadOnlyList<long> Samples { get; set; } = [];
}

/// <summary>Every supported type, required and optional, with lists and structs nested.</summary>
public sealed class AllTypes
{
    public bool Flag { get; set; }

    public int Count { get; set; }

    public long Big { get; set; }

    public float Ratio { get; set; }

    public double Real { get; set; }

    public string Text { get; set; } = "";

    public byte[] Blob { get; set; } = [];

    public bool? MaybeFlag { get; set; }

    public int? MaybeInt { get; set; }

    public long? MaybeLong { get; set; }

    public float? MaybeFloat { get; set; }

    public double? MaybeDouble { get; set; }

    public string? MaybeText { get; set; }

    public byte[]? MaybeBlob { get; set; }

    public int[]? Ints { get; set; }

    public List<string?> Tags { get; set; } = [];

    public Scores? Scores { get; set; }

    public List<Scores>? History { get; set; }
}

internal static class Generate
{
    private static readonly string[] Roles = ["system", "user", "assistant"];
    private static readonly string[] Words = ["héllo", "✓", "naïve", "数据", "flywheel", "reward", "😀", "policy", "a", ""];

    public static string Text(Random rng, int words) =>
        string.Join(' ', Enumerable.Range(0, words).Select(_ => Words[rng.Next(Words.Length)]));

    public static SftRow Sft(Random rng, int i) => new()
    {
        Messages = (i % 7) switch
        {
            0 => null,
            1 => [],
            _ => [.. Enumerable.Range(0, 1 + rng.Next(4)).Select(k => new Message(Roles[k % 3], Text(rng, rng.Next(12))))],
        },
        PromptId = $"p{i / 4}",
        Prompt = Text(rng, 5 + rng.Next(20)),
        Completion = i % 11 == 0 ? null : Text(rng, rng.Next(40)),
        Reward = Math.Round((rng.NextDouble() * 4) - 2, 6),
        Rank = i % 4,
        Round = 1 + (i / 1000),
        Policy = "policy-r" + (i % 3),
        RewardModel = "rm-" + (i % 2),
    };

    public static AllTypes All(Random rng, int i)
    {
        bool nulls = i % 5 == 0;
        return new AllTypes
        {
            Flag = rng.Next(2) == 0,
            Count = rng.Next(int.MinValue, int.MaxValue),
            Big = rng.NextInt64(long.MinValue, long.MaxValue),
            Ratio = (float)((rng.NextDouble() * 2000) - 1000),
            Real = i == 3 ? -0.0 : (rng.NextDouble() * 1e6) - 5e5,
            Text = Text(rng, rng.Next(6)),
            Blob = [.. Enumerable.Range(0, rng.Next(8)).Select(_ => (byte)rng.Next(256))],
            MaybeFlag = nulls ? null : i % 2 == 0,
            MaybeInt = nulls ? null : i % 13,
            MaybeLong = nulls ? null : i * 1_000_000_007L,
            MaybeFloat = nulls ? null : i / 8f,
            MaybeDouble = nulls ? null : i / 3.0,
            MaybeText = nulls ? null : "t" + (i % 17),
            MaybeBlob = nulls ? null : [(byte)i, (byte)(i >> 8)],
            Ints = (i % 6) switch { 0 => null, 1 => [], _ => [.. Enumerable.Range(0, rng.Next(5)).Select(_ => rng.Next(100))] },
            Tags = (i % 4) switch { 0 => [], 1 => [null], _ => ["x" + (i % 3), null, Text(rng, 1)] },
            Scores = nulls ? null : new Scores { Min = i, Mean = i % 3 == 0 ? null : i * 0.5, Samples = [i, -i] },
            History = (i % 3) switch
            {
                0 => null,
                1 => [],
                _ => [new Scores { Min = 1, Samples = [] }, new Scores { Min = 2, Mean = 2.5, Samples = [long.MaxValue, long.MinValue] }],
            },
        };
    }
}
