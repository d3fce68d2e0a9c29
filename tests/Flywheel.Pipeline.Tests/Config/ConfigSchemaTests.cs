using System.Text.Json;
using System.Text.Json.Schema;
using Flywheel.Pipeline.Config;

namespace Flywheel.Pipeline.Tests.Config;

/// <summary>flywheel.schema.json (for editors) is the schema of FlywheelConfig as the loader reads it; it cannot drift.</summary>
public class ConfigSchemaTests
{
    private static string Root => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));

    internal static string Expected()
    {
        var schema = ConfigLoader.Json.GetJsonSchemaAsNode(typeof(FlywheelConfig), new JsonSchemaExporterOptions
        {
            TreatNullObliviousAsNonNullable = true,
            // The loader refuses unknown keys; so does the schema, so editors flag typos.
            TransformSchemaNode = (_, node) =>
            {
                if (node is System.Text.Json.Nodes.JsonObject o && o["properties"] is not null) o["additionalProperties"] = false;
                return node;
            },
        });
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema";
        schema["title"] = "Flywheel config (flywheel.json, pipelines/*.json)";
        return schema.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    [Fact]
    public void The_committed_schema_matches_the_config_type()
    {
        string path = Path.Combine(Root, "flywheel.schema.json");
        if (Environment.GetEnvironmentVariable("FLYWHEEL_UPDATE_SCHEMA") == "1") File.WriteAllText(path, Expected());
        Assert.True(File.Exists(path), $"{path} is missing; regenerate it with FLYWHEEL_UPDATE_SCHEMA=1 dotnet test --filter ConfigSchemaTests");
        Assert.Equal(Expected(), File.ReadAllText(path));
    }
}
