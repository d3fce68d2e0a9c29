using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

using Flywheel.Training;

namespace Flywheel.Pipeline.Config;

/// <summary>A config that cannot be used: the message names the file and the JSON path at fault.</summary>
public sealed class ConfigException(string message) : InputException(message);

/// <summary>Reads, validates and fingerprints flywheel configs.</summary>
public static class ConfigLoader
{
    internal static readonly JsonSerializerOptions Json = new()
    {
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };

    /// <summary>
    /// Loads a config file. Its paths stay as written, relative ones relative to <see cref="FlywheelConfig.BaseDirectory"/>
    /// (the file's folder); <see cref="Resolve"/> makes them absolute.
    /// </summary>
    public static FlywheelConfig Load(string path)
    {
        if (!File.Exists(path)) throw new ConfigException($"{path}: config file not found");
        FlywheelConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<FlywheelConfig>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            string where = e.Path is { Length: > 0 } p ? $"{p}" : $"line {e.LineNumber + 1}";
            throw new ConfigException($"{path}: {where}: {JsonErrorText.Reason(e)}");
        }
        if (config is null) throw new ConfigException($"{path}: the file holds no config object");
        var errors = Validate(config);
        if (errors.Count > 0) throw new ConfigException($"{path}: {errors[0]}");
        return config with { BaseDirectory = Path.GetDirectoryName(Path.GetFullPath(path)) };
    }

    /// <summary>Every rule a config breaks, each naming its JSON path; empty when it is usable.</summary>
    public static IReadOnlyList<string> Validate(FlywheelConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var errors = new List<string>();
        void Check(bool ok, string path, string rule)
        {
            if (!ok) errors.Add($"{path}: {rule}");
        }
        // The ranges the properties declare (the schema states the same); then what one value cannot say alone.
        errors.AddRange(ConfigRanges.Violations(c, "$"));
        Check(!string.IsNullOrWhiteSpace(c.Name) && c.Name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && c.Name is not ("." or ".."), "$.name", "must be a non-empty name usable as a folder name");
        Check(c.Device is "auto" or "cpu" or "cuda", "$.device", $"must be auto, cpu or cuda, got '{c.Device}'");
        Check(!string.IsNullOrWhiteSpace(c.Policy.Model), "$.policy.model", "is required: the starting policy GGUF");
        Check(!string.IsNullOrWhiteSpace(c.Prompts.Path), "$.prompts.path", "is required: the prompts to sample");
        if (c.Evaluation is { } e)
        {
            Check(!string.IsNullOrWhiteSpace(e.Path), "$.evaluation.path", "is required: the held-out prompts to measure pass@1 on");
            Check(c.Verifier is not null, "$.evaluation", "needs a verifier ($.verifier) to judge answers");
        }
        Check(c.Preferences.Count > 0, "$.preferences", "needs at least one source of preference pairs (a dataset path or an annotator)");
        for (int i = 0; i < c.Preferences.Count; i++)
        {
            var p = c.Preferences[i];
            string at = $"$.preferences[{i}]";
            Check((p.Path is null) != (p.Annotator is null), at, "needs exactly one of 'path' and 'annotator'");
            Check(p.Rounds.All(r => r >= 1 && r <= c.Rounds), $"{at}.rounds", $"rounds must be 1 to {c.Rounds}");
            if (p.Annotator is { } a)
            {
                Check(!string.IsNullOrWhiteSpace(a.Prompts), $"{at}.annotator.prompts", "is required: the prompts to sample and label");
            }
        }
        var rm = c.RewardModel;
        Check(rm.Train is "all" or "head" or "lora" || (rm.Train.StartsWith("last:", StringComparison.Ordinal) && int.TryParse(rm.Train[5..], out int n) && n >= 1),
            "$.reward_model.train", $"must be all, head, last:N or lora, got '{rm.Train}'");
        Check(rm.RewardToken is null || rm.RewardToken.Length > 0, "$.reward_model.reward_token", "must be a token id or a token's text, or null");
        Check(c.Sft.Train is "all" or "lora", "$.sft.train", $"must be all or lora, got '{c.Sft.Train}'");
        foreach (var (lora, at) in new[] { (rm.Lora, "$.reward_model.lora"), (c.Sft.Lora, "$.sft.lora") })
        {
            try { _ = TrainableLayers.WithLora(lora); }
            catch (ArgumentException invalid) { Check(false, at, invalid.Message); }
        }
        Check(rm.Loss is "bradley_terry" or "focal", "$.reward_model.loss", $"must be bradley_terry or focal, got '{rm.Loss}'");
        var s = c.Sampling;
        Check(s.Stop.All(x => !string.IsNullOrEmpty(x)), "$.sampling.stop", "stop strings must not be empty");
        Check(s.Sequences >= s.K, "$.sampling.sequences", $"must be at least k ({s.K}), got {s.Sequences}");
        Check(s.Backend is "local" or "openai", "$.sampling.backend", $"must be local or openai, got '{s.Backend}'");
        if (s.Backend == "openai") errors.AddRange(Sampling.Remote.EndpointRules.Check(c));
        Check(c.Selection.TopN <= s.K, "$.selection.top_n", $"must be 1 to k ({s.K}), got {c.Selection.TopN}");
        return errors;
    }

    /// <summary>The config as canonical JSON (what the run stores and the hash is taken of).</summary>
    public static string ToJson(FlywheelConfig config) => JsonSerializer.Serialize(config, Json);

    /// <summary>
    /// SHA-256 of the canonical JSON, hex: identifies the config in run.json and in Parquet metadata. Taken over the paths
    /// as written, so a clone or run moved elsewhere keeps its hash.
    /// </summary>
    public static string Hash(FlywheelConfig config) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ToJson(config))));

    /// <summary>The JSON paths whose values differ between two configs (for "resuming with a changed config").</summary>
    public static IReadOnlyList<string> Differences(FlywheelConfig before, FlywheelConfig after)
    {
        var a = Flatten(JsonNode.Parse(ToJson(before)));
        var b = Flatten(JsonNode.Parse(ToJson(after)));
        return a.Keys.Union(b.Keys).Where(k => a.GetValueOrDefault(k) != b.GetValueOrDefault(k)).Order(StringComparer.Ordinal).ToList();
    }

    private static Dictionary<string, string?> Flatten(JsonNode? node, string path = "$", Dictionary<string, string?>? into = null)
    {
        into ??= new Dictionary<string, string?>();
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o) Flatten(v, $"{path}.{k}", into);
                break;
            case JsonArray a:
                for (int i = 0; i < a.Count; i++) Flatten(a[i], $"{path}[{i}]", into);
                into[$"{path}.length"] = a.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
                break;
            default:
                into[path] = node?.ToJsonString();
                break;
        }
        return into;
    }

    /// <summary>The config with every path made absolute against its <see cref="FlywheelConfig.BaseDirectory"/>.</summary>
    public static FlywheelConfig Resolve(FlywheelConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        string dir = Path.GetFullPath(c.BaseDirectory ?? ".");
        string Abs(string p) => Path.GetFullPath(p, dir);
        return c with
        {
            Policy = c.Policy with { Model = Abs(c.Policy.Model) },
            Prompts = c.Prompts with { Path = Abs(c.Prompts.Path) },
            Evaluation = c.Evaluation is null ? null : c.Evaluation with { Path = Abs(c.Evaluation.Path) },
            Preferences = c.Preferences.Select(p => p with
            {
                Path = p.Path is null ? null : Abs(p.Path),
                Annotator = p.Annotator is null ? null : p.Annotator with { Prompts = Abs(p.Annotator.Prompts) },
            }).ToList(),
            RewardModel = c.RewardModel with { Init = c.RewardModel.Init == "policy" ? "policy" : Abs(c.RewardModel.Init) },
        };
    }
}
