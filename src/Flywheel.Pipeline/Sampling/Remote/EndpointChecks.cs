using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Flywheel.Pipeline.Config;

namespace Flywheel.Pipeline.Sampling.Remote;

/// <summary>
/// Before round 1, with backend openai: every endpoint is reachable, serves the configured model (its /models list)
/// and takes the API key and the run's requests on the route it uses (a one-token request with the run's n).
/// Each problem stops the run with one line naming the endpoint's config key.
/// </summary>
internal static class EndpointChecks
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static async Task RunAsync(FlywheelConfig config, int roundsPlanned, CancellationToken ct)
    {
        var s = config.Sampling;
        if (config.Sft.Enabled && roundsPlanned > 1)
            throw new ConfigException("$.sft.enabled: backend openai samples the model the servers serve, which a round's SFT cannot update; set it to false to run more than one round, or sample in process");
        using var http = new HttpClient { Timeout = Timeout };
        for (int i = 0; i < s.Endpoints.Count; i++) await CheckAsync(http, s, s.Endpoints[i], $"$.sampling.endpoints[{i}]", ct);
    }

    private static async Task CheckAsync(HttpClient http, SamplingConfig s, EndpointConfig e, string at, CancellationToken ct)
    {
        string url = e.Url.TrimEnd('/');
        string? key;
        try
        {
            key = OpenAiEndpoint.ApiKey(e);
        }
        catch (InvalidOperationException missing)
        {
            throw new ConfigException($"{at}.api_key_env: {missing.Message}");
        }
        using (var models = await SendAsync(http, new HttpRequestMessage(HttpMethod.Get, url + "/models"), key, url, at, ct))
        {
            string body = await models.Content.ReadAsStringAsync(ct);
            Refused(models, body, url + "/models", e, at);
            var served = ServedModels(body) ?? throw new ConfigException($"{at}.url: {url}/models did not answer with an OpenAI model list: is {url} the server's OpenAI base URL (…/v1)?");
            if (!served.Contains(e.Model))
                throw new ConfigException($"{at}.model: '{e.Model}' is not served by {url}; it serves {(served.Count == 0 ? "no model" : string.Join(", ", served.Select(m => $"'{m}'")))}");
        }
        // One token for as many candidates as a request will ask for, so that the route, the key, a prompt of token ids
        // (token 0, which every vocabulary has) and n (llama-server takes no more than its slots) are tried as
        // sampling will use them.
        int n = Math.Min(e.MaxN ?? s.K, s.K);
        var probe = OpenAiProtocol.Request(s with { MaxNewTokens = 1, Stop = [] }, e.Model, [0], [new Llama.Chat.ChatMessage("user", "1")], n, 0);
        var request = new HttpRequestMessage(HttpMethod.Post, url + "/" + OpenAiProtocol.Path(s.Route)) { Content = new StringContent(probe.ToJsonString(), Encoding.UTF8, "application/json") };
        using var answer = await SendAsync(http, request, key, url, at, ct);
        string text = await answer.Content.ReadAsStringAsync(ct);
        Refused(answer, text, $"{url}/{OpenAiProtocol.Path(s.Route)}", e, at);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpRequestMessage request, string? key, string url, string at, CancellationToken ct)
    {
        using (request)
        {
            if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            try
            {
                return await http.SendAsync(request, ct);
            }
            catch (HttpRequestException unreachable)
            {
                throw new ConfigException($"{at}.url: {url} is unreachable: {unreachable.Message}");
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new ConfigException($"{at}.url: {url} did not answer within {Timeout.TotalSeconds:N0} s");
            }
        }
    }

    private static void Refused(HttpResponseMessage response, string body, string route, EndpointConfig e, string at)
    {
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            throw new ConfigException(e.ApiKeyEnv is { } env
                ? $"{at}.api_key_env: {route} refused the key in {env} ({(int)response.StatusCode} {response.StatusCode})"
                : $"{at}.api_key_env: {route} needs an API key ({(int)response.StatusCode} {response.StatusCode}); name the environment variable that holds it");
        if (!response.IsSuccessStatusCode)
            throw new ConfigException($"{at}: {route} answered {(int)response.StatusCode} {response.StatusCode}{(body.Length > 0 ? ": " + OpenAiEndpoint.Shorten(body) : "")}");
    }

    /// <summary>The ids (and llama-server's aliases) of an OpenAI model list; null when the body is not one.</summary>
    internal static HashSet<string>? ServedModels(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (!doc.RootElement.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array) return null;
            var ids = new HashSet<string>(StringComparer.Ordinal);
            foreach (var m in data.EnumerateArray())
            {
                if (m.TryGetProperty("id", out var id) && id.GetString() is { } name) ids.Add(name);
                if (m.TryGetProperty("aliases", out var aliases) && aliases.ValueKind == JsonValueKind.Array)
                    foreach (var a in aliases.EnumerateArray()) if (a.GetString() is { } alias) ids.Add(alias);
            }
            return ids;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
