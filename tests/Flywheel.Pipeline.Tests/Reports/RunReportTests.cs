using System.Xml.Linq;
using Flywheel.Pipeline.Reports;
using Flywheel.Pipeline.Runs;

namespace Flywheel.Pipeline.Tests.Reports;

public class RunReportTests
{
    private static RunManifest Manifest()
    {
        var m = new RunManifest { Run = "demo <x>", RoundsPlanned = 3, FinalPolicyPassAt1 = 0.61, InitialPolicyPassAt1 = 0.4, PassAt1Prompts = "../held-out.jsonl" };
        for (int r = 1; r <= 2; r++)
        {
            var round = m.Round(r);
            foreach (var s in Stage.All) round.Stages[s] = StageState.Done;
            round.State = StageState.Done;
            round.Metrics = new RoundMetrics
            {
                Pairs = 100 * r, RmEvalAccuracy = 0.9 + 0.02 * r, Candidates = 800, Kept = 100, RewardMeanAll = 0.1, RewardMeanKept = 1.2 * r,
                PassRateAll = 0.3 * r, PassRateKept = 0.4 * r, PolicyPassAt1 = 0.3 * r,
            };
        }
        return m;
    }

    [Fact]
    public async Task The_report_is_self_contained_html_with_a_row_and_a_plot_point_per_round()
    {
        string html = await RunReport.RenderAsync(Manifest(), runDirectory: null);
        Assert.Contains("<title>Flywheel run demo &lt;x&gt;</title>", html);
        Assert.Contains("Policy pass@1 on held-out.jsonl: starting policy 40.0 % → final policy <b>61.0 %</b>", html);
        Assert.Contains("<td>2</td><td>done</td><td>200</td><td>94.0 %</td>", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("http://", html.Replace("xmlns=\"http://www.w3.org/2000/svg\"", ""));
        // Every plot is well-formed SVG with one point per round and series.
        int start = 0, plots = 0;
        while ((start = html.IndexOf("<svg", start, StringComparison.Ordinal)) >= 0)
        {
            int end = html.IndexOf("</svg>", start, StringComparison.Ordinal) + 6;
            var svg = XElement.Parse(html[start..end]);
            var circles = svg.Elements().Where(e => e.Name.LocalName == "circle").ToList();
            Assert.All(svg.Elements().Where(e => e.Name.LocalName == "polyline"), l => Assert.Equal("2", l.Attribute("data-points")!.Value));
            Assert.Equal(0, circles.Count % 2);
            Assert.NotEmpty(circles);
            plots++;
            start = end;
        }
        Assert.Equal(4, plots);
        Assert.Contains("No stage timings recorded yet", html);
    }

    [Fact]
    public async Task Write_replaces_the_file_atomically()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("flywheel-report-").FullName, "report.html");
        await RunReport.WriteAsync(Manifest(), path);
        Assert.StartsWith("<!DOCTYPE html>", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }
}
