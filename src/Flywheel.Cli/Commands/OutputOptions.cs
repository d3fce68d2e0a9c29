using System.CommandLine;

namespace Flywheel.Cli.Commands;

internal enum OutputMode
{
    Interactive,
    Quiet,
    Json,
}

/// <summary>--quiet and --json, for commands that report progress.</summary>
internal sealed record OutputOptions(Option<bool> Quiet, Option<bool> Json)
{
    public static OutputOptions Create() => new(
        new Option<bool>("--quiet") { Description = "no progress, only errors and the final summary" },
        new Option<bool>("--json") { Description = "progress and the final status as JSON lines" });

    public OutputMode Read(ParseResult parse) =>
        parse.GetValue(Json) ? OutputMode.Json : parse.GetValue(Quiet) ? OutputMode.Quiet : OutputMode.Interactive;
}
