using System.Text.Json.Serialization;

namespace Flywheel.Pipeline.Demo;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(PromptLine))]
internal sealed partial class DemoJson : JsonSerializerContext;
