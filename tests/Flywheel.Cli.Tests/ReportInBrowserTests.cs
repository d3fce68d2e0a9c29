using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Flywheel.Parquet;
using Flywheel.Pipeline.Reports;
using Flywheel.Pipeline.Stages;

namespace Flywheel.Cli.Tests;

/// <summary>
/// A finished run's report.html as a browser sees it: Debian's chromium, headless, renders the page and hands back
/// its DOM, in which every plot must hold the marks its round's files call for — a bar count per candidate and per
/// kept one, a histogram value per held-out pair, a line vertex per training step, a point per candidate.
/// </summary>
public partial class ReportInBrowserTests
{
    private static string Chromium()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            foreach (string name in new[] { "chromium", "chromium-browser" })
                if (File.Exists(Path.Combine(dir, name))) return Path.Combine(dir, name);
        Assert.Fail("the report test needs headless Chromium and found no 'chromium' on PATH: install Debian's package (apt-get install -y chromium)");
        return "";
    }

    /// <summary>Runs chromium headless on <paramref name="arguments"/>; its stdout, or a failure naming what went wrong. It cannot hang the suite.</summary>
    private static async Task<string> RunChromium(params string[] arguments)
    {
        var start = new ProcessStartInfo(Chromium()) { RedirectStandardOutput = true, RedirectStandardError = true };
        // As root (CI containers) Chromium refuses to start without --no-sandbox.
        foreach (string a in (string[])["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + CliRunner.TempDir(), .. arguments]) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("chromium did not finish within 3 minutes");
        }
        Assert.True(process.ExitCode == 0, $"chromium exited with {process.ExitCode}: {await stderr}");
        return await stdout;
    }

    [GeneratedRegex("<figure data-plot=\"(?<kind>[a-z-]+)\"(?<missing> data-missing=\"true\")?>(?<body>.*?)</figure>", RegexOptions.Singleline)]
    private static partial Regex Figure();

    [GeneratedRegex("<section class=\"round\" data-round=\"(?<round>\\d+)\">(?<body>.*?)</section>", RegexOptions.Singleline)]
    private static partial Regex RoundSection();

    [GeneratedRegex("<rect class=\"bar\" data-series=\"(?<series>[^\"]*)\" data-count=\"(?<count>\\d+)\"")]
    private static partial Regex Bar();

    [GeneratedRegex("<polyline class=\"line\" data-series=\"(?<series>[^\"]*)\" data-points=\"(?<points>\\d+)\"[^>]* points=\"(?<xy>[^\"]*)\"")]
    private static partial Regex Line();

    [GeneratedRegex("<circle class=\"point\" data-series=\"(?<series>[^\"]*)\"")]
    private static partial Regex Point();

    private static Dictionary<string, string> Figures(string html) =>
        Figure().Matches(html).ToDictionary(m => m.Groups["kind"].Value, m => m.Groups["missing"].Success ? "missing: " + m.Groups["body"].Value : m.Groups["body"].Value);

    private static long Bars(string figure, string series) =>
        Bar().Matches(figure).Where(m => m.Groups["series"].Value == series).Sum(m => long.Parse(m.Groups["count"].Value, CultureInfo.InvariantCulture));

    private static int Points(string figure, string series) => Point().Matches(figure).Count(m => m.Groups["series"].Value == series);

    private static Match LineOf(string figure, string series) => Line().Matches(figure).Single(m => m.Groups["series"].Value == series);

    [Fact]
    public async Task Every_plot_of_the_report_holds_what_its_rounds_files_say_in_headless_chromium()
    {
        var setup = new TinyRun(prompts: 12, rounds: 2);
        string dir = setup.RunDir();
        var run = await setup.RunAsync();
        Assert.True(run.ExitCode == 0, run.Error);
        string report = Path.Combine(dir, "report.html");

        string dom = await RunChromium("--dump-dom", new Uri(report).AbsoluteUri);
        Assert.Contains("<h1>Flywheel run tiny</h1>", dom);
        Assert.Equal(4, Figure().Matches(dom).Count(m => m.Groups["kind"].Value == "rounds"));

        var sections = RoundSection().Matches(dom).ToDictionary(m => int.Parse(m.Groups["round"].Value, CultureInfo.InvariantCulture), m => m.Groups["body"].Value);
        Assert.Equal([1, 2], sections.Keys.Order());
        foreach (var (round, section) in sections)
        {
            string roundDir = Path.Combine(dir, $"round-{round:000}");
            var candidates = new List<CandidateRow>();
            await foreach (var c in ParquetSerializer.DeserializeAsync<CandidateRow>(Path.Combine(roundDir, "candidates.parquet"), new ParquetSerializerOptions { ColumnNaming = ColumnNaming.SnakeCase }))
                candidates.Add(c);
            var figures = Figures(section);
            Assert.All(figures, f => Assert.False(f.Value.StartsWith("missing", StringComparison.Ordinal), $"round {round}: plot {f.Key} is {f.Value}"));

            // Reward histogram: every candidate in the grey bars, every kept one in the blue.
            Assert.Equal(48, Bars(figures["reward-histogram"], "all candidates"));
            Assert.Equal(candidates.Count(c => c.Kept), Bars(figures["reward-histogram"], "kept"));

            // Held-out pairs: one value per pair on each side, as many as the trainer held out.
            var heldOut = RewardModelLog.ReadHeldOut(Path.Combine(roundDir, "rm"));
            Assert.InRange(heldOut.Count, 1, 39);
            Assert.Equal(heldOut.Count, Bars(figures["heldout-histogram"], "chosen"));
            Assert.Equal(heldOut.Count, Bars(figures["heldout-histogram"], "rejected"));

            // Loss and accuracy by step: a vertex per optimizer step, numbered 1..n; a held-out point per epoch (1 here).
            var steps = RewardModelLog.ReadSteps(RewardModelLog.LogPath(Path.Combine(roundDir, "rm")));
            Assert.Equal(Enumerable.Range(1, steps.Count), steps.Select(s => s.Step));
            var loss = LineOf(figures["rm-loss"], "loss");
            Assert.Equal(steps.Count, int.Parse(loss.Groups["points"].Value, CultureInfo.InvariantCulture));
            Assert.Equal(steps.Count, loss.Groups["xy"].Value.Split(' ').Length);
            Assert.Equal(steps.Count, int.Parse(LineOf(figures["rm-accuracy-steps"], "batch").Groups["points"].Value, CultureInfo.InvariantCulture));
            Assert.Equal(1, Points(figures["rm-accuracy-steps"], "held-out"));

            // Reward against length: a point per candidate, and the mean line a vertex per distinct length.
            Assert.Equal(candidates.Count(c => !c.Kept), Points(figures["reward-length"], "candidate"));
            Assert.Equal(candidates.Count(c => c.Kept), Points(figures["reward-length"], "kept"));
            Assert.Equal(candidates.Select(c => c.Tokens).Distinct().Count(), int.Parse(LineOf(figures["reward-length"], "mean").Groups["points"].Value, CultureInfo.InvariantCulture));

            // The best and worst kept examples, with their rewards.
            var kept = candidates.Where(c => c.Kept).ToList();
            Assert.Contains($"<td>{kept.Max(c => c.Reward).ToString("F3", CultureInfo.InvariantCulture)}</td>", section);
            Assert.Contains($"<td>{kept.Min(c => c.Reward).ToString("F3", CultureInfo.InvariantCulture)}</td>", section);
        }

        // Time per stage: a bar per timed stage (gather, train RM, sample + score, select, write, SFT) and round.
        var times = Figure().Matches(dom).Single(m => m.Groups["kind"].Value == "stage-times").Groups["body"].Value;
        Assert.Equal(12, Bar().Count(times));

        // And it draws: a screenshot of the page is a PNG of the window's size.
        string png = Path.Combine(CliRunner.TempDir(), "report.png");
        await RunChromium($"--screenshot={png}", "--window-size=1200,3000", new Uri(report).AbsoluteUri);
        var header = File.ReadAllBytes(png).AsSpan(0, 24).ToArray();
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, header[..4]);
        Assert.Equal(1200, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(16, 4)));
    }
}
