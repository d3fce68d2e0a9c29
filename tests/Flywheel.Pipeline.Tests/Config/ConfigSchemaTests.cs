using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using Flywheel.Pipeline.Config;
using Flywheel.Training;

namespace Flywheel.Pipeline.Tests.Config;

/// <summary>
/// flywheel.schema.json (for editors) is the schema of FlywheelConfig as the loader reads it; it cannot drift. Each key
/// carries its [Description], its default (a default-constructed section's value) and its [Range] (what validation
/// checks), so an editor shows what a key means, what it is when left out and what it may be.
/// </summary>
public class ConfigSchemaTests
{
    private static string Root => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));

    internal static string Expected()
    {
        var schema = ConfigLoader.Json.GetJsonSchemaAsNode(typeof(FlywheelConfig), new JsonSchemaExporterOptions
        {
            TreatNullObliviousAsNonNullable = true,
            TransformSchemaNode = (context, node) =>
            {
                if (node is not JsonObject o) return node;
                // The loader refuses unknown keys; so does the schema, so editors flag typos.
                if (o["properties"] is not null) o["additionalProperties"] = false;
                if (context.PropertyInfo is { } property && property.AttributeProvider is PropertyInfo member) Annotate(o, property.DeclaringType, member);
                return node;
            },
        });
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema";
        schema["title"] = "Flywheel config (flywheel.json, pipelines/*.json)";
        return schema.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    private static void Annotate(JsonObject node, Type section, PropertyInfo member)
    {
        if (member.GetCustomAttribute<DescriptionAttribute>() is { } description) node["description"] = description.Description;
        if (Default(section, member) is { } value) node["default"] = value;
        if (member.GetCustomAttribute<RangeAttribute>() is { } range)
        {
            node[range.MinimumIsExclusive ? "exclusiveMinimum" : "minimum"] = range.Minimum();
            if (range.Maximum() is double max) node[range.MaximumIsExclusive ? "exclusiveMaximum" : "maximum"] = max;
        }
    }

    /// <summary>A key's value in a default-constructed section; none for sections, required strings ("") and lists of sections.</summary>
    private static JsonNode? Default(Type section, PropertyInfo member)
    {
        object? value = member.GetValue(Activator.CreateInstance(section));
        if (value is null or "" || IsSection(member.PropertyType)) return null;
        if (member.PropertyType.IsGenericType && member.PropertyType.GetGenericArguments() is [var element] && IsSection(element)) return null;
        return JsonSerializer.SerializeToNode(value, member.PropertyType, ConfigLoader.Json);
    }

    private static bool IsSection(Type type) => type.IsClass && type != typeof(string) && type.Namespace is "Flywheel.Pipeline.Config" or "Flywheel.Training";

    [Fact]
    public void The_committed_schema_matches_the_config_type()
    {
        string path = Path.Combine(Root, "flywheel.schema.json");
        if (Environment.GetEnvironmentVariable("FLYWHEEL_UPDATE_SCHEMA") == "1") File.WriteAllText(path, Expected());
        Assert.True(File.Exists(path), $"{path} is missing; regenerate it with FLYWHEEL_UPDATE_SCHEMA=1 dotnet test --filter ConfigSchemaTests");
        Assert.Equal(Expected(), File.ReadAllText(path));
    }

    /// <summary>Every key of the schema, with its JSON path: the properties of each object, of each list's items, of nullable objects.</summary>
    private static IEnumerable<(string Path, JsonObject Node)> Keys(JsonObject node, string path)
    {
        if (node["properties"] is JsonObject properties)
        {
            foreach (var (name, child) in properties)
            {
                var key = (JsonObject)child!;
                yield return ($"{path}.{name}", key);
                foreach (var nested in Keys(key, $"{path}.{name}")) yield return nested;
            }
        }
        if (node["items"] is JsonObject items)
            foreach (var nested in Keys(items, $"{path}[]")) yield return nested;
    }

    private static bool IsNumber(JsonObject key) => key["type"] switch
    {
        JsonValue v => (string?)v is "integer" or "number",
        JsonArray types => types.Any(t => (string?)t is "integer" or "number"),
        _ => false,
    };

    [Fact]
    public void Every_key_has_a_description_and_every_number_a_range()
    {
        var schema = JsonNode.Parse(Expected())!.AsObject();
        var keys = Keys(schema, "$").ToList();
        Assert.True(keys.Count > 60, $"only {keys.Count} keys found: the walk misses some");
        var undescribed = keys.Where(k => k.Node["description"] is not JsonValue).Select(k => k.Path).ToList();
        Assert.True(undescribed.Count == 0, $"keys without a [Description]: {string.Join(", ", undescribed)}");
        // A reward floor may be any number: the one number without a range.
        var unbounded = keys.Where(k => IsNumber(k.Node) && k.Node["minimum"] is null && k.Node["exclusiveMinimum"] is null && k.Path != "$.selection.min_reward")
            .Select(k => k.Path).ToList();
        Assert.True(unbounded.Count == 0, $"numbers without a [Range]: {string.Join(", ", unbounded)}");
    }

    [Fact]
    public void Defaults_and_ranges_are_what_a_default_config_holds_and_validation_checks()
    {
        var keys = Keys(JsonNode.Parse(Expected())!.AsObject(), "$").ToDictionary(k => k.Path, k => k.Node);
        Assert.Equal(6, (int)keys["$.rounds"]["default"]!);
        Assert.Equal(0.8, (double)keys["$.sampling.temperature"]["default"]!, 6);
        Assert.Equal("bradley_terry", (string?)keys["$.reward_model.loss"]["default"]);
        Assert.Null(keys["$.policy.model"]["default"]); // required: no default to show
        Assert.Equal(1, (int)keys["$.rounds"]["minimum"]!);
        Assert.Equal(1000, (int)keys["$.rounds"]["maximum"]!);
        Assert.Equal(0, (int)keys["$.sampling.top_p"]["exclusiveMinimum"]!);
        Assert.Equal(1, (int)keys["$.sampling.top_p"]["maximum"]!);
        Assert.Equal(2, (int)keys["$.preferences[].annotator.k"]["minimum"]!);

        // What the schema states, validation enforces: a value just outside each stated bound is refused, naming the key.
        var errors = ConfigLoader.Validate(new FlywheelConfig
        {
            Policy = new() { Model = "p.gguf" },
            Prompts = new() { Path = "p.jsonl" },
            Preferences = [new() { Path = "x.jsonl", Annotator = null, Limit = 0 }],
            Sampling = new() { TopP = 0, MinP = 1 },
            RewardModel = new() { Lora = new LoraOptions { Dropout = 1 } },
        });
        Assert.Contains("$.preferences[0].limit: must be ≥ 1, got 0", errors);
        Assert.Contains("$.sampling.top_p: must be in (0, 1], got 0", errors);
        Assert.Contains("$.sampling.min_p: must be in [0, 1), got 1", errors);
        Assert.Contains("$.reward_model.lora: LoRA dropout must be in [0, 1), got 1", errors);
    }
}
