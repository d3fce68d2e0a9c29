using Flywheel.Files;
using System.Globalization;
using System.Net;
using System.Text;
using Flywheel.Pipeline.Runs;

namespace Flywheel.Pipeline.Reports;

/// <summary>
/// report.html of a run, as one self-contained file (inline SVG, no scripts, no external assets), rewritten after
/// every round: the per-round table and line plots over the rounds; then per round the reward distributions (all
/// candidates vs kept, held-out chosen vs rejected), the reward model's loss and accuracy by step, reward against
/// completion length, and the best and worst kept example; last, the time and throughput of each stage. Rounds are
/// read and rendered one at a time, so memory holds one round's rewards.
/// </summary>
public static class RunReport
{
    private const int Bins = 30;

    /// <summary>Where a round's candidate plot stops drawing every candidate and draws every n-th.</summary>
    internal const int MaxScatterPoints = 2000;

    private const string Grey = "#9aa5b1", LightGrey = "#d5dadf", DarkGrey = "#4f5b66", Blue = "#2f80ed", Green = "#27ae60", Red = "#eb5757", LightRed = "#f6b8b8", Orange = "#f2994a";

    private sealed record Series(string Name, string Color, Func<RoundMetrics, double?> Value);

    private sealed record Chart(string Kind, string Title, string Unit, IReadOnlyList<Series> Series);

    private static readonly Chart[] Charts =
    [
        new("pass-rate", "Verifier pass rate", "%", [
            new("all candidates", Grey, m => m.PassRateAll * 100),
            new("kept by the reward model", Blue, m => m.PassRateKept * 100),
            new("policy pass@1", Green, m => m.PolicyPassAt1 * 100)]),
        new("reward-mean", "Reward (mean)", "", [
            new("all candidates", Grey, m => m.RewardMeanAll),
            new("kept", Blue, m => m.RewardMeanKept)]),
        new("rm-accuracy", "Reward model held-out accuracy", "%", [new("accuracy", Red, m => m.RmEvalAccuracy * 100)]),
        new("pairs", "Preference pairs", "", [new("pairs", Orange, m => m.Pairs)]),
    ];

    private static readonly (string Stage, string Name, string Color)[] TimedStages =
    [
        (Stage.Gather, "gather", Orange), (Stage.TrainRm, "train RM", Red), (Stage.Sample, "sample + score", Blue),
        (Stage.Select, "select", "#9b51e0"), (Stage.Write, "write", Grey), (Stage.Sft, "SFT", Green),
    ];

    /// <summary>Writes the report of the run in <paramref name="path"/>'s folder, reading its rounds' files.</summary>
    public static async Task WriteAsync(RunManifest manifest, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        Write(manifest, path, await RoundData.LoadAllAsync(manifest, Path.GetDirectoryName(Path.GetFullPath(path))!, cancellationToken));
    }

    /// <summary>Writes the report from rounds' files already read (<see cref="RoundData.LoadAllAsync"/>).</summary>
    internal static void Write(RunManifest manifest, string path, IReadOnlyList<RoundData> rounds) => AtomicFile.WriteAllText(path, Render(manifest, rounds));

    /// <summary>The report; with no <paramref name="runDirectory"/>, only what run.json holds (no per-round plots).</summary>
    public static async Task<string> RenderAsync(RunManifest manifest, string? runDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return Render(manifest, runDirectory is null ? [] : await RoundData.LoadAllAsync(manifest, runDirectory, cancellationToken));
    }

    /// <summary>The report of <paramref name="manifest"/>, with a section for each of <paramref name="rounds"/> (its rounds' data, in order, or none).</summary>
    internal static string Render(RunManifest manifest, IReadOnlyList<RoundData> rounds)
    {
        var html = new StringBuilder();
        string title = Encode($"Flywheel run {manifest.Run}");
        html.Append($$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{{title}}</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; max-width: 1160px; }
            table { border-collapse: collapse; margin: 1em 0; }
            th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; vertical-align: top; }
            th { background: #f5f5f5; }
            td.text { text-align: left; font-family: ui-monospace, monospace; white-space: pre-wrap; max-width: 420px; }
            .charts { display: flex; flex-wrap: wrap; gap: 1.5em; }
            figure { margin: 0; width: 360px; }
            figcaption { font-weight: 600; margin-bottom: 4px; }
            .legend { display: flex; flex-wrap: wrap; gap: 0 1em; }
            .legend span { white-space: nowrap; }
            .note { color: #666; font-size: 12px; margin: 4px 0; }
            section.round { border-top: 1px solid #ddd; margin-top: 2em; }
            </style></head><body>
            <h1>{{title}}</h1>
            <p>{{manifest.Rounds.Count(r => r.IsDone)}} of {{manifest.RoundsPlanned}} rounds done.{{PassAt1(manifest)}}</p>
            """);
        html.Append("<table><tr><th>round</th><th>state</th><th>pairs</th><th>RM held-out accuracy</th><th>candidates</th><th>kept</th>")
            .Append("<th>reward all</th><th>reward kept</th><th>pass rate all</th><th>pass rate kept</th><th>policy pass@1</th></tr>\n");
        foreach (var r in manifest.Rounds)
        {
            var m = r.Metrics;
            html.Append(Inv($"<tr><td>{r.Round}</td><td>{r.State}</td><td>{m.Pairs}</td><td>{Percent(m.RmEvalAccuracy)}</td>"))
                .Append(Inv($"<td>{m.Candidates}</td><td>{m.Kept}</td><td>{Number(m.RewardMeanAll)}</td><td>{Number(m.RewardMeanKept)}</td>"))
                .Append(Inv($"<td>{Percent(m.PassRateAll)}</td><td>{Percent(m.PassRateKept)}</td><td>{Percent(m.PolicyPassAt1)}</td></tr>\n"));
        }
        html.Append("</table>\n<div class=\"charts\">\n");
        foreach (var chart in Charts) html.Append(OverRounds(chart, manifest.Rounds));
        html.Append("</div>\n");

        var trainingTokensPerSecond = new Dictionary<int, double>();
        foreach (var (record, data) in manifest.Rounds.Zip(rounds))
        {
            if (data.Steps.Count > 0) trainingTokensPerSecond[record.Round] = data.Steps.Average(s => s.TokensPerSecond);
            html.Append(RoundSection(data, record));
        }
        html.Append(StageTimes(manifest.Rounds, trainingTokensPerSecond));
        html.Append("</body></html>\n");
        return html.ToString();
    }

    private static string OverRounds(Chart chart, List<RoundRecord> rounds)
    {
        var points = chart.Series.Select(s => rounds.Select(r => (r.Round, Value: s.Value(r.Metrics))).Where(p => p.Value is double v && double.IsFinite(v)).Select(p => (X: (double)p.Round, Y: p.Value!.Value)).ToList()).ToList();
        var all = points.SelectMany(p => p.Select(x => x.Y)).ToList();
        if (all.Count == 0) return "";
        double min = Math.Min(0, all.Min()), max = all.Max();
        if (chart.Unit == "%") (min, max) = (0, 100);
        int lastRound = Math.Max(2, rounds.Count);
        var plot = new SvgPlot("rounds", 1, lastRound, min, max, "round", chart.Unit);
        for (int s = 0; s < chart.Series.Count; s++)
        {
            var series = chart.Series[s];
            plot.Legend(series.Name, series.Color).Line(points[s], series.Name, series.Color, 2);
            foreach (var p in points[s]) plot.Point(p.X, p.Y, series.Name, series.Color, Inv($"round {p.X}: {p.Y:F3}"));
        }
        return plot.Render(chart.Title, xTicks: [.. Enumerable.Range(1, lastRound).Select(r => ((double)r, r.ToString(CultureInfo.InvariantCulture)))]);
    }

    private static string RoundSection(RoundData data, RoundRecord record)
    {
        var html = new StringBuilder();
        html.Append(Inv($"<section class=\"round\" data-round=\"{data.Round}\"><h2>Round {data.Round}</h2>\n<div class=\"charts\">\n"));
        string noCandidates = "candidates.parquet is not there yet: the round has not sampled and scored its candidates.";
        html.Append(data.Rewards is { } rewards
            ? Histogram("reward-histogram", "Reward: all candidates vs kept",
                [("all candidates", Grey, rewards), ("kept", Blue, [.. rewards.Where((_, i) => data.Kept![i])])], "reward")
            : SvgPlot.Missing("reward-histogram", "Reward: all candidates vs kept", noCandidates));
        html.Append(data.HeldOut.Count > 0
            ? Histogram("heldout-histogram", "Held-out pairs: reward of chosen vs rejected",
                [("chosen", Green, [.. data.HeldOut.Select(p => p.ChosenReward)]), ("rejected", Red, [.. data.HeldOut.Select(p => p.RejectedReward)])], "reward",
                Inv($"{data.HeldOut.Count} held-out pairs; chosen above rejected in {data.HeldOut.Count(p => p.ChosenReward > p.RejectedReward) / (double)data.HeldOut.Count:P1}."))
            : SvgPlot.Missing("heldout-histogram", "Held-out pairs: reward of chosen vs rejected",
                "rm/heldout-rewards.jsonl is missing: reward-model training writes it when it ends (for a round trained before it did: resume --from-round " + data.Round + " --from-stage train_rm)."));
        if (data.Steps.Count > 0)
        {
            html.Append(LossByStep(data.Steps));
            html.Append(AccuracyByStep(data.Steps, data.Evaluations));
        }
        else
        {
            string why = "rm/training-log.jsonl is missing: reward-model training writes it step by step (for a round trained before it did: resume --from-round " + data.Round + " --from-stage train_rm).";
            html.Append(SvgPlot.Missing("rm-loss", "Reward model: training loss by step", why));
            html.Append(SvgPlot.Missing("rm-accuracy-steps", "Reward model: accuracy by step", why));
        }
        html.Append(data.Rewards is not null ? RewardByLength(data) : SvgPlot.Missing("reward-length", "Reward against completion length", noCandidates));
        html.Append("</div>\n");
        if (data.BestKept is { } best && data.WorstKept is { } worst)
        {
            html.Append("<table class=\"examples\"><tr><th>kept example</th><th>prompt</th><th>completion</th><th>reward</th><th>verifier</th></tr>\n");
            foreach (var (label, e) in new[] { ("best", best), ("worst", worst) })
                html.Append(Inv($"<tr><td>{label}</td><td class=\"text\">{Encode(e.Prompt)}</td><td class=\"text\">{Encode(e.Completion)}</td><td>{e.Reward:F3}</td><td>{(e.Correct is bool c ? c ? "right" : "wrong" : "–")}</td></tr>\n"));
            html.Append("</table>\n");
        }
        else if (record.Stages[Stage.Select] == StageState.Done)
        {
            html.Append("<p class=\"note\">No candidate was kept this round.</p>\n");
        }
        return html.Append("</section>\n").ToString();
    }

    /// <summary>Each series' share of its values per bin (so that 512 kept and 4,096 candidates compare), over bins shared by all series.</summary>
    private static string Histogram(string kind, string caption, IReadOnlyList<(string Name, string Color, double[] Values)> series, string xLabel, string? note = null)
    {
        var all = series.SelectMany(s => s.Values).ToList();
        double min = all.Min(), max = all.Max();
        if (max - min < 1e-9) (min, max) = (min - 0.5, max + 0.5);
        double width = (max - min) / Bins;
        var counts = series.Select(s =>
        {
            var c = new long[Bins];
            foreach (var v in s.Values) c[Math.Clamp((int)((v - min) / width), 0, Bins - 1)]++;
            return c;
        }).ToList();
        double top = series.Select((s, i) => s.Values.Length == 0 ? 0 : counts[i].Max() * 100.0 / s.Values.Length).Max();
        var plot = new SvgPlot(kind, min, max, 0, Math.Max(top, 1), xLabel, "%");
        for (int s = 0; s < series.Count; s++)
        {
            var (name, color, values) = series[s];
            plot.Legend(Inv($"{name} ({values.Length:N0})"), color);
            // Side by side within each bin, so that no series hides another.
            double slot = width / series.Count;
            for (int b = 0; b < Bins; b++)
            {
                if (counts[s][b] == 0) continue;
                double x0 = min + b * width;
                plot.Bar(x0 + s * slot, x0 + (s + 1) * slot, 0, counts[s][b] * 100.0 / values.Length, counts[s][b], name, color,
                    Inv($"{name}: {counts[s][b]} in [{x0:F3}, {x0 + width:F3})"));
            }
        }
        return plot.Render(caption, note);
    }

    private static string LossByStep(IReadOnlyList<RewardModelStep> steps)
    {
        double min = Math.Min(0, steps.Min(s => s.Loss)), max = steps.Max(s => s.Loss);
        var plot = new SvgPlot("rm-loss", 1, Math.Max(2, steps[^1].Step), min, max, "step")
            .Legend("per step", LightRed).Legend(Inv($"mean of {Window(steps.Count)} steps"), Red);
        plot.Line([.. steps.Select(s => ((double)s.Step, s.Loss))], "loss", LightRed, 1);
        plot.Line(Smoothed([.. steps.Select(s => ((double)s.Step, s.Loss))]), "loss-smoothed", Red, 2);
        return plot.Render("Reward model: training loss by step", Inv($"{steps.Count} steps logged; last loss {steps[^1].Loss:F4}."));
    }

    private static string AccuracyByStep(IReadOnlyList<RewardModelStep> steps, IReadOnlyList<RewardModelEvaluation> evaluations)
    {
        var plot = new SvgPlot("rm-accuracy-steps", 1, Math.Max(2, steps[^1].Step), 0, 100, "step", "%")
            .Legend("training batch", LightGrey).Legend(Inv($"mean of {Window(steps.Count)} batches"), DarkGrey).Legend("held-out (after each epoch)", Red);
        var batch = steps.Where(s => s.Accuracy is not null).Select(s => ((double)s.Step, s.Accuracy!.Value * 100)).ToList();
        plot.Line(batch, "batch", LightGrey, 1);
        plot.Line(Smoothed(batch), "batch-smoothed", DarkGrey, 2);
        plot.Line([.. evaluations.Select(e => ((double)e.Step, e.Accuracy * 100))], "held-out", Red, 2);
        foreach (var e in evaluations) plot.Point(e.Step, e.Accuracy * 100, "held-out", Red, Inv($"epoch {e.Epoch} (step {e.Step}): {e.Accuracy:P1}, mean margin {e.MeanMargin:F3}"));
        string note = evaluations.Count > 0 ? Inv($"Held-out accuracy after the last epoch: {evaluations[^1].Accuracy:P1}.") : "No held-out evaluation logged.";
        return plot.Render("Reward model: accuracy by step", note);
    }

    /// <summary>Steps averaged in a smoothed curve: about 40 windows over the run, as TensorBoard's smoothing shows a trend through noisy steps.</summary>
    private static int Window(int steps) => Math.Max(1, steps / 40);

    /// <summary>The trailing mean of each point's window.</summary>
    private static List<(double X, double Y)> Smoothed(List<(double X, double Y)> points)
    {
        int window = Window(points.Count);
        var result = new List<(double, double)>(points.Count);
        double sum = 0;
        for (int i = 0; i < points.Count; i++)
        {
            sum += points[i].Y;
            if (i >= window) sum -= points[i - window].Y;
            result.Add((points[i].X, sum / Math.Min(i + 1, window)));
        }
        return result;
    }

    /// <summary>Every candidate (every n-th past <see cref="MaxScatterPoints"/>), kept ones in blue, and the mean reward per length.</summary>
    private static string RewardByLength(RoundData data)
    {
        double[] rewards = data.Rewards!;
        int[] lengths = data.Lengths!;
        int stride = (rewards.Length + MaxScatterPoints - 1) / MaxScatterPoints;
        var plot = new SvgPlot("reward-length", Math.Min(0, lengths.Min()), Math.Max(1, lengths.Max()) + 0.5, Math.Min(0, rewards.Min()), Math.Max(0, rewards.Max()), "completion tokens")
            .Legend("candidate", Grey).Legend("kept", Blue).Legend("mean reward per length", Orange);
        // Lengths are whole tokens: where they span little, points are spread across their column to show how many there are.
        double jitter = lengths.Max() - lengths.Min() <= 40 ? 0.3 : 0;
        int drawn = 0;
        // The kept ones last, on top of the others.
        foreach (bool kept in new[] { false, true })
        {
            for (int i = 0; i < rewards.Length; i += stride)
            {
                if (data.Kept![i] != kept) continue;
                plot.Point(lengths[i] + jitter * Spread(i), rewards[i], kept ? "kept" : "candidate", kept ? Blue : Grey, Inv($"{lengths[i]} tokens, reward {rewards[i]:F3}"), 2, kept ? 0.6 : 0.3);
                drawn++;
            }
        }
        plot.Line([.. lengths.Zip(rewards).GroupBy(p => p.First).OrderBy(g => g.Key).Select(g => ((double)g.Key, g.Average(p => p.Second)))], "mean", Orange, 2);
        double r = Correlation(lengths, rewards);
        string sampled = stride > 1 ? Inv($"every {stride}th of {rewards.Length:N0} candidates drawn ({drawn:N0}); ") : Inv($"all {rewards.Length:N0} candidates drawn; ");
        return plot.Render("Reward against completion length", Inv($"{sampled}length–reward correlation {r:F2}{(double.IsNaN(r) ? " (lengths all equal)" : "")}."));
    }

    /// <summary>A fixed pseudo-random offset in [−1, 1] for point <paramref name="i"/> (the same page for the same run).</summary>
    private static double Spread(int i) => (uint)(i * 2654435761u) / (double)uint.MaxValue * 2 - 1;

    private static double Correlation(int[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average();
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxx > 0 && syy > 0 ? sxy / Math.Sqrt(sxx * syy) : double.NaN;
    }

    /// <summary>Seconds and throughput of each stage per round, and the seconds stacked per round.</summary>
    private static string StageTimes(List<RoundRecord> rounds, Dictionary<int, double> trainingTokensPerSecond)
    {
        var html = new StringBuilder("<section class=\"times\"><h2>Time and throughput per stage</h2>\n");
        var timed = rounds.Where(r => r.StageSeconds.Count > 0).ToList();
        if (timed.Count == 0)
        {
            html.Append("<p class=\"note\">No stage timings recorded yet: run.json records each stage's seconds when it ends.</p>\n");
            return html.Append("</section>\n").ToString();
        }
        html.Append("<table><tr><th>round</th>");
        foreach (var (_, name, _) in TimedStages) html.Append(Inv($"<th>{name}</th>"));
        html.Append("<th>total</th></tr>\n");
        foreach (var r in timed)
        {
            html.Append(Inv($"<tr><td>{r.Round}</td>"));
            foreach (var (stage, _, _) in TimedStages)
            {
                html.Append(r.StageSeconds.TryGetValue(stage, out double s)
                    ? Inv($"<td>{s:F1} s{Throughput(stage, s, r.Metrics, trainingTokensPerSecond.GetValueOrDefault(r.Round))}</td>")
                    : "<td>–</td>");
            }
            html.Append(Inv($"<td>{r.StageSeconds.Values.Sum():F1} s</td></tr>\n"));
        }
        html.Append("</table>\n");

        int lastRound = Math.Max(1, timed.Max(r => r.Round));
        double top = timed.Max(r => r.StageSeconds.Values.Sum());
        var plot = new SvgPlot("stage-times", 0.5, lastRound + 0.5, 0, Math.Max(top, 1e-3), "round", " s");
        foreach (var (_, name, color) in TimedStages) plot.Legend(name, color);
        foreach (var r in timed)
        {
            double y = 0;
            foreach (var (stage, name, color) in TimedStages)
            {
                if (!r.StageSeconds.TryGetValue(stage, out double s)) continue;
                plot.Bar(r.Round - 0.3, r.Round + 0.3, y, y + s, 1, name, color, Inv($"round {r.Round} {name}: {s:F1} s"));
                y += s;
            }
        }
        html.Append("<div class=\"charts\">").Append(plot.Render("Seconds per stage", "Sample and score run as one streaming pass; a stage redone after a restart counts its last run.",
            [.. timed.Select(r => ((double)r.Round, r.Round.ToString(CultureInfo.InvariantCulture)))])).Append("</div>\n");
        return html.Append("</section>\n").ToString();
    }

    private static string Throughput(string stage, double seconds, RoundMetrics m, double trainingTokensPerSecond)
    {
        if (seconds <= 0) return "";
        string Rate(long? count, string unit) => count is long n ? Inv($"<br>{n / seconds:N0} {unit}/s") : "";
        return stage switch
        {
            Stage.Gather => Rate(m.Pairs, "pairs"),
            Stage.TrainRm => trainingTokensPerSecond > 0 ? Inv($"<br>{trainingTokensPerSecond:N0} tokens/s") : "",
            Stage.Sample => Rate(m.Candidates, "candidates") + (m.TokensPerSecond is double t ? Inv($"<br>{t:N0} generated tokens/s") : ""),
            Stage.Select => Rate(m.Candidates, "candidates"),
            Stage.Write or Stage.Sft => Rate(m.Kept, "rows"),
            _ => "",
        };
    }

    private static string PassAt1(RunManifest m) =>
        m.PassAt1Summary(WebUtility.HtmlEncode, figure => $"<b>{figure}</b>") is { } s ? $" {char.ToUpperInvariant(s[0])}{s[1..]}." : "";

    private static string Percent(double? v) => v is double x ? x.ToString("P1", CultureInfo.InvariantCulture) : "–";

    private static string Number(double? v) => v is double x ? x.ToString("F3", CultureInfo.InvariantCulture) : "–";

    private static string Encode(string s) => WebUtility.HtmlEncode(s);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
