using System.Text.Json.Nodes;

namespace Flywheel.Pipeline.Datasets;

/// <summary>Turns one file's rows into records, in order; a bad row raises <see cref="DatasetFormatException"/>.</summary>
internal interface IRowParser<out T>
{
    T Parse(JsonObject row, RowLocation at);
}
