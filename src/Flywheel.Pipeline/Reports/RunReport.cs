using Flywheel.Files;
using System.Globalization;
using System.Net;
using System.Text;
using Flywheel.Pipeline.Runs;

namespace Flywheel.Pipeline.Reports;

/// <summary>
/// report.html of a run: the per-round table and line plots over the rounds, as one self-contained file (inline SVG,
/// no scripts, no external assets), rewritten after every round.
/// </summary>
public static class RunReport
{
    private sealed record Series(string Name, string Color, Func<RoundMetrics, double?> Value);

    private sealed record Chart(string Title, string Unit, IReadOnlyList<Series> Series);

    private static readonly Chart[] Charts =
    [
        new("Verifier pass rate", "%", [
            new("all candidates", "#9aa5b1", m => m.PassRateAll * 100),
            new("kept by the reward model", "#2f80ed", m => m.PassRateKept * 100),
            new("policy pass@1", "#27ae60", m => m.PolicyPassAt1 * 100)]),
        new("Reward (mean)", "", [
            new("all candidates", "#9aa5b1", m => m.RewardMeanAll),
            new("kept", "#2f80ed", m => m.RewardMeanKept)]),
        new("Reward model held-out accuracy", "%", [new("accuracy", "#eb5757", m => m.RmEvalAccuracy * 100)]),
        new("Preference pairs", "", [new("pairs", "#f2994a", m => m.Pairs)]),
    ];

    public static void Write(RunManifest manifest, string path)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        AtomicFile.WriteAllText(path, Render(manifest));
    }

    public static string Render(RunManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var html = new StringBuilder();
        string title = WebUtility.HtmlEncode($"Flywheel run {manifest.Run}");
        html.Append($$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{{title}}</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
            table { border-collapse: collapse; margin: 1em 0; }
            th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
            th { background: #f5f5f5; }
            .charts { display: flex; flex-wrap: wrap; gap: 1.5em; }
            figure { margin: 0; width: 360px; }
            figcaption { font-weight: 600; margin-bottom: 4px; }
            .legend span { margin-right: 1em; white-space: nowrap; }
            </style></head><body>
            <h1>{{title}}</h1>
            <p>{{manifest.Rounds.Count(r => r.IsDone)}} of {{manifest.RoundsPlanned}} rounds done.{{PassAt1(manifest)}}</p>
            """);
        html.Append("<table><tr><th>round</th><th>state</th><th>pairs</th><th>RM held-out accuracy</th><th>candidates</th><th>kept</th>")
            .Append("<th>reward all</th><th>reward kept</th><th>pass rate all</th><th>pass rate kept</th><th>policy pass@1</th></tr>\n");
        foreach (var r in manifest.Rounds)
        {
            var m = r.Metrics;
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{r.Round}</td><td>{r.State}</td><td>{m.Pairs}</td><td>{Percent(m.RmEvalAccuracy)}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td>{m.Candidates}</td><td>{m.Kept}</td><td>{Number(m.RewardMeanAll)}</td><td>{Number(m.RewardMeanKept)}</td>")
                .Append(CultureInfo.InvariantCulture, $"<td>{Percent(m.PassRateAll)}</td><td>{Percent(m.PassRateKept)}</td><td>{Percent(m.PolicyPassAt1)}</td></tr>\n");
        }
        html.Append("</table>\n<div class=\"charts\">\n");
        foreach (var chart in Charts) html.Append(Plot(chart, manifest.Rounds));
        html.Append("</div>\n</body></html>\n");
        return html.ToString();
    }

    private static string Plot(Chart chart, List<RoundRecord> rounds)
    {
        const int width = 360, height = 220, left = 56, right = 12, top = 10, bottom = 30;
        var points = chart.Series.Select(s => rounds.Select(r => (r.Round, Value: s.Value(r.Metrics))).Where(p => p.Value is double v && double.IsFinite(v)).Select(p => (p.Round, Value: p.Value!.Value)).ToList()).ToList();
        var all = points.SelectMany(p => p.Select(x => x.Value)).ToList();
        if (all.Count == 0) return "";
        double min = Math.Min(0, all.Min()), max = all.Max();
        if (chart.Unit == "%") (min, max) = (0, 100);
        if (max - min < 1e-9) max = min + 1;
        int lastRound = Math.Max(2, rounds.Count);
        double X(int round) => left + (round - 1) * (width - left - right) / (double)(lastRound - 1);
        double Y(double v) => top + (max - v) * (height - top - bottom) / (max - min);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<figure><figcaption>{WebUtility.HtmlEncode(chart.Title)}</figcaption>");
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{WebUtility.HtmlEncode(chart.Title)}\">");
        for (int i = 0; i <= 4; i++)
        {
            double v = min + (max - min) * i / 4;
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" x2=\"{width - right}\" y1=\"{Y(v):F1}\" y2=\"{Y(v):F1}\" stroke=\"#eee\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 4}\" y=\"{Y(v) + 4:F1}\" font-size=\"10\" text-anchor=\"end\">{v.ToString(max - min >= 10 ? "F0" : max - min >= 1 ? "F1" : "G3", CultureInfo.InvariantCulture)}{chart.Unit}</text>");
        }
        for (int r = 1; r <= lastRound; r++)
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(r):F1}\" y=\"{height - 12}\" font-size=\"10\" text-anchor=\"middle\">{r}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{(left + width - right) / 2}\" y=\"{height - 1}\" font-size=\"10\" text-anchor=\"middle\">round</text>");
        for (int s = 0; s < chart.Series.Count; s++)
        {
            if (points[s].Count == 0) continue;
            string color = chart.Series[s].Color;
            string line = string.Join(' ', points[s].Select(p => string.Create(CultureInfo.InvariantCulture, $"{X(p.Round):F1},{Y(p.Value):F1}")));
            svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{line}\"/>");
            foreach (var p in points[s])
                svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{X(p.Round):F1}\" cy=\"{Y(p.Value):F1}\" r=\"3\" fill=\"{color}\"><title>round {p.Round}: {p.Value:F3}</title></circle>");
        }
        svg.Append("</svg><div class=\"legend\">");
        foreach (var s in chart.Series) svg.Append(CultureInfo.InvariantCulture, $"<span style=\"color:{s.Color}\">■</span> {WebUtility.HtmlEncode(s.Name)} ");
        svg.Append("</div></figure>\n");
        return svg.ToString();
    }

    private static string PassAt1(RunManifest m) =>
        m.PassAt1Summary(WebUtility.HtmlEncode, figure => $"<b>{figure}</b>") is { } s ? $" {char.ToUpperInvariant(s[0])}{s[1..]}." : "";

    private static string Percent(double? v) => v is double x ? x.ToString("P1", CultureInfo.InvariantCulture) : "–";

    private static string Number(double? v) => v is double x ? x.ToString("F3", CultureInfo.InvariantCulture) : "–";
}
