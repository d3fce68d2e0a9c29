using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Flywheel.Pipeline.Demo;

[JsonSerializable(typeof(PromptLine))]
internal sealed partial class DemoJson : JsonSerializerContext
{
    /// <summary>snake_case, and "+" kept readable in the files rather than escaped as \u002B.</summary>
    internal static DemoJson Readable { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
