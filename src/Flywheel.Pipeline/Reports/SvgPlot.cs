using System.Globalization;
using System.Net;
using System.Text;

namespace Flywheel.Pipeline.Reports;

/// <summary>
/// One inline-SVG plot of the report: axes with ticks and the marks drawn on them. Every mark carries its series
/// (<c>data-series</c>) and what it stands for (<c>data-count</c> on a histogram bar, <c>data-points</c> on a line), so
/// a reader of the page — a person hovering, or a test in a browser — can tell what each plot holds.
/// </summary>
internal sealed class SvgPlot
{
    private const int Width = 360, Height = 220, Left = 52, Right = 12, Top = 10, Bottom = 34;
    private readonly StringBuilder _marks = new();
    private readonly List<(string Name, string Color)> _legend = [];
    private readonly string _kind;
    private readonly double _xMin, _xMax, _yMin, _yMax;
    private readonly string _xLabel, _yUnit;

    public SvgPlot(string kind, double xMin, double xMax, double yMin, double yMax, string xLabel, string yUnit = "")
    {
        _kind = kind;
        (_xMin, _xMax) = xMax - xMin < 1e-12 ? (xMin - 0.5, xMin + 0.5) : (xMin, xMax);
        (_yMin, _yMax) = yMax - yMin < 1e-12 ? (yMin - 0.5, yMin + 0.5) : (yMin, yMax);
        _xLabel = xLabel;
        _yUnit = yUnit;
    }

    public double X(double x) => Left + (x - _xMin) * (Width - Left - Right) / (_xMax - _xMin);

    public double Y(double y) => Top + (_yMax - y) * (Height - Top - Bottom) / (_yMax - _yMin);

    public SvgPlot Legend(string name, string color)
    {
        _legend.Add((name, color));
        return this;
    }

    /// <summary>A bar over [<paramref name="x0"/>, <paramref name="x1"/>) from <paramref name="y0"/> up to <paramref name="y1"/>, standing for <paramref name="count"/> values.</summary>
    public void Bar(double x0, double x1, double y0, double y1, long count, string series, string color, string title)
    {
        double top = Y(y1), bottom = Y(y0);
        _marks.Append(Inv($"<rect class=\"bar\" data-series=\"{Encode(series)}\" data-count=\"{count}\" x=\"{X(x0):F1}\" y=\"{top:F1}\" width=\"{Math.Max(0.5, X(x1) - X(x0) - 0.5):F1}\" height=\"{Math.Max(0, bottom - top):F1}\" fill=\"{color}\" fill-opacity=\"0.6\"><title>{Encode(title)}</title></rect>"));
    }

    public void Line(IReadOnlyList<(double X, double Y)> points, string series, string color, double width = 1.5)
    {
        if (points.Count == 0) return;
        string path = string.Join(' ', points.Select(p => Inv($"{X(p.X):F1},{Y(p.Y):F1}")));
        _marks.Append(Inv($"<polyline class=\"line\" data-series=\"{Encode(series)}\" data-points=\"{points.Count}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"{width}\" points=\"{path}\"/>"));
    }

    public void Point(double x, double y, string series, string color, string title, double radius = 3, double opacity = 1)
    {
        _marks.Append(Inv($"<circle class=\"point\" data-series=\"{Encode(series)}\" cx=\"{X(x):F1}\" cy=\"{Y(y):F1}\" r=\"{radius}\" fill=\"{color}\" fill-opacity=\"{opacity}\"><title>{Encode(title)}</title></circle>"));
    }

    /// <summary>The plot as a figure: caption, SVG, legend and an optional note under it.</summary>
    public string Render(string caption, string? note = null, IReadOnlyList<(double Value, string Label)>? xTicks = null)
    {
        var svg = new StringBuilder();
        svg.Append(Inv($"<figure data-plot=\"{_kind}\"><figcaption>{Encode(caption)}</figcaption>"));
        svg.Append(Inv($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"{Encode(caption)}\">"));
        foreach (var (v, label) in NiceTicks(_yMin, _yMax))
        {
            svg.Append(Inv($"<line x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{Y(v):F1}\" y2=\"{Y(v):F1}\" stroke=\"#eee\"/>"));
            svg.Append(Inv($"<text x=\"{Left - 4}\" y=\"{Y(v) + 4:F1}\" font-size=\"10\" text-anchor=\"end\">{label}{_yUnit}</text>"));
        }
        foreach (var (value, label) in xTicks ?? NiceTicks(_xMin, _xMax))
            svg.Append(Inv($"<text x=\"{X(value):F1}\" y=\"{Height - 20}\" font-size=\"10\" text-anchor=\"middle\">{Encode(label)}</text>"));
        svg.Append(Inv($"<text x=\"{(Left + Width - Right) / 2}\" y=\"{Height - 4}\" font-size=\"10\" text-anchor=\"middle\">{Encode(_xLabel)}</text>"));
        svg.Append(_marks).Append("</svg>");
        if (_legend.Count > 0)
        {
            svg.Append("<div class=\"legend\">");
            foreach (var (name, color) in _legend) svg.Append(Inv($"<span><i style=\"color:{color}\">■</i> {Encode(name)}</span>"));
            svg.Append("</div>");
        }
        if (note is not null) svg.Append(Inv($"<p class=\"note\">{Encode(note)}</p>"));
        return svg.Append("</figure>\n").ToString();
    }

    /// <summary>A figure in place of a plot whose data is not there, saying what it needs.</summary>
    public static string Missing(string kind, string caption, string why) =>
        Inv($"<figure data-plot=\"{kind}\" data-missing=\"true\"><figcaption>{Encode(caption)}</figcaption><p class=\"note\">{Encode(why)}</p></figure>\n");

    /// <summary>Ticks at round values (1, 2, 2.5 or 5 × a power of ten) inside [min, max], about five of them.</summary>
    internal static IReadOnlyList<(double Value, string Label)> NiceTicks(double min, double max)
    {
        double raw = (max - min) / 5;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1, 2, 2.5, 5, 10 }.Select(f => f * magnitude).First(s => s >= raw * 0.999);
        int decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(step) + 1e-9) + (step / magnitude == 2.5 ? 1 : 0));
        var ticks = new List<(double, string)>();
        for (double k = Math.Ceiling(min / step - 1e-9); k * step <= max + step * 1e-9; k++)
        {
            double v = k * step + 0.0; // + 0.0: no "-0"
            ticks.Add((v, Math.Round(v, decimals).ToString("F" + decimals, CultureInfo.InvariantCulture)));
        }
        return ticks;
    }

    private static string Encode(string s) => WebUtility.HtmlEncode(s);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
