using Flywheel.Pipeline.Config;

namespace Flywheel.Pipeline.Sampling.Remote;

/// <summary>The config rules of backend openai beyond the ranges its keys declare: what can be told from the config alone, before any server is asked.</summary>
internal static class EndpointRules
{
    public static IEnumerable<string> Check(FlywheelConfig c)
    {
        var s = c.Sampling;
        if (s.Endpoints.Count == 0) yield return "$.sampling.endpoints: backend openai needs at least one endpoint";
        if (s.Route is not ("completions" or "chat")) yield return $"$.sampling.route: must be completions or chat, got '{s.Route}'";
        for (int i = 0; i < s.Endpoints.Count; i++)
        {
            var e = s.Endpoints[i];
            string at = $"$.sampling.endpoints[{i}]";
            if (!IsHttpUrl(e.Url)) yield return $"{at}.url: must be an absolute http:// or https:// URL such as http://127.0.0.1:8080/v1, got '{e.Url}'";
            if (string.IsNullOrWhiteSpace(e.Model)) yield return $"{at}.model: is required: the name the server serves the policy under";
            if (e.ApiKeyEnv is { } env && (env.Length == 0 || env.Contains('=', StringComparison.Ordinal)))
                yield return $"{at}.api_key_env: must name an environment variable, got '{env}'";
        }
        foreach (var duplicate in s.Endpoints.GroupBy(e => (e.Url.TrimEnd('/'), e.Model)).Where(g => g.Count() > 1))
            yield return $"$.sampling.endpoints: {duplicate.Key.Item1} with model '{duplicate.Key.Model}' is listed {duplicate.Count()} times";
    }

    // "localhost:8080" parses as a URI with scheme "localhost", so the scheme itself is what is checked.
    private static bool IsHttpUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Host.Length > 0;
}
