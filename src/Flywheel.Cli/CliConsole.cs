using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;

namespace Flywheel.Cli;

/// <summary>Where commands write: a Spectre console for people, raw writers for JSON lines and plain text.</summary>
internal sealed class CliConsole(TextWriter stdout, TextWriter stderr)
{
    public static readonly JsonSerializerOptions Json = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // keep UTF-8 text readable
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    public TextWriter Out { get; } = stdout;
    public TextWriter Error { get; } = stderr;

    public IAnsiConsole Ansi { get; } = AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(stdout),
        Ansi = ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
        ColorSystem = ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        Interactive = InteractionSupport.No,
    }).WithWidth(ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected ? null : 160);

    public void WriteJson<T>(T value) => Out.WriteLine(JsonSerializer.Serialize(value, Json));
}

internal static class AnsiConsoleWidth
{
    /// <summary>Redirected output has no terminal width; tables get room for their columns instead of 80.</summary>
    public static IAnsiConsole WithWidth(this IAnsiConsole console, int? width)
    {
        if (width is int w) console.Profile.Width = w;
        return console;
    }
}
