using Flywheel.Files;
using System.Text.Json;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Datasets;
using Flywheel.Pipeline.Runs;
using Flywheel.Pipeline.Verifiers;

namespace Flywheel.Pipeline.Stages;

/// <summary>
/// Gathers the round's preference pairs into pairs.jsonl: static datasets meant for this round, and pairs an annotator
/// makes by sampling the current policy on its prompts and labelling candidates with a verifier (chosen: a correct
/// candidate, rejected: an incorrect one) — the stand-in for human raters.
/// </summary>
internal static class GatherStage
{
    private static readonly JsonSerializerOptions Json = new(ConfigLoader.Json) { WriteIndented = false };

    public static async Task<(long Pairs, long Rejected)> RunAsync(RoundContext ctx, CancellationToken ct)
    {
        var pairs = new List<PreferencePair>();
        long rejected = 0;
        for (int i = 0; i < ctx.Config.Preferences.Count; i++)
        {
            var source = ctx.Config.Preferences[i];
            if (source.Rounds.Count > 0 && !source.Rounds.Contains(ctx.Round)) continue;
            var fromSource = new List<PreferencePair>();
            if (source.Path is { } path)
            {
                var reader = PreferenceDatasets.ReadAsync(path, ctx.ReadOptions($"preferences-{i}"), ct);
                await foreach (var pair in reader)
                {
                    fromSource.Add(pair);
                    if (source.Limit is int n && fromSource.Count >= n) break;
                }
                rejected += reader.RowsRejected;
            }
            else if (source.Annotator is { } annotator)
            {
                fromSource.AddRange(await AnnotateAsync(ctx, annotator, i, ct));
                if (source.Limit is int n && fromSource.Count > n) fromSource.RemoveRange(n, fromSource.Count - n);
            }
            pairs.AddRange(fromSource);
            ctx.Report(Stage.Gather, pairs.Count, null, $"{fromSource.Count} pairs from preferences[{i}]");
        }
        if (pairs.Count < 2)
            throw new InvalidOperationException($"round {ctx.Round}: only {pairs.Count} preference pairs were gathered; the reward model needs at least 2 (check $.preferences)");
        await ctx.Resilience.Io.ExecuteAsync(async token =>
            await AtomicFile.WriteLinesAsync(ctx.PairsPath, pairs.Select(p => JsonSerializer.Serialize(p, Json)), token), ct);
        return (pairs.Count, rejected);
    }

    public static async Task<List<PreferencePair>> ReadPairsAsync(string path, CancellationToken ct)
    {
        var pairs = new List<PreferencePair>();
        foreach (var line in await File.ReadAllLinesAsync(path, ct))
            pairs.Add(JsonSerializer.Deserialize<PreferencePair>(line, Json) ?? throw new InvalidDataException($"{path}: empty line"));
        return pairs;
    }

    private static async Task<List<PreferencePair>> AnnotateAsync(RoundContext ctx, AnnotatorConfig annotator, int sourceIndex, CancellationToken ct)
    {
        var verifier = Verifier.Create(annotator.Verifier);
        using var sampler = new CandidateSampler(ctx.PolicyPath, ctx.Config, annotator.K, ctx.Threads, ctx.LongestPrompt, verifier);
        int index = 0;
        var prompts = ctx.OpenPrompts(annotator.Prompts, annotator.Limit, $"annotator-{sourceIndex}", sampler.Problem, ct).Prompts.Select(p => new PromptItem(index++, p));
        var pairs = new List<(int Index, PreferencePair Pair)>();
        long prompted = 0;
        await foreach (var (item, result) in sampler.SampleAsync(prompts, ctx.Config.Seed, ctx.Round, $"annotate-{sourceIndex}", ct))
        {
            var correct = result.Candidates.Where(c => c.Text.Length > 0 && verifier.IsCorrect(item.Prompt, c.Text)).Select(c => c.Text).Distinct().ToList();
            var wrong = result.Candidates.Where(c => !verifier.IsCorrect(item.Prompt, c.Text)).Select(c => c.Text).Distinct().ToList();
            if (correct.Count == 0 && annotator.ReferenceWhenNoneCorrect && item.Prompt.Answer is { Length: > 0 } reference && verifier.IsCorrect(item.Prompt, reference))
                correct.Add(reference);
            // Deterministic pairing: the seed depends on the prompt, not on the order prompts finished in.
            var random = new Random((int)Seeds.Derive(ctx.Config.Seed, ctx.Round, $"pairs-{sourceIndex}", item.Prompt.Id));
            int made = 0;
            foreach (var (c, w) in correct.SelectMany(c => wrong.Select(w => (c, w))).OrderBy(_ => random.Next()))
            {
                if (made++ == annotator.PairsPerPrompt) break;
                pairs.Add((item.Index, new PreferencePair(item.Prompt.Messages, c, w, null, $"annotator:{verifier.Name} {item.Prompt.Id}")));
            }
            ctx.Report(Stage.Gather, ++prompted, null, $"annotating: {pairs.Count} pairs");
        }
        return pairs.OrderBy(p => p.Index).Select(p => p.Pair).ToList();
    }
}
