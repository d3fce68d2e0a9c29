using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Flywheel.Pipeline.Tests.Sampling;

/// <summary>
/// An OpenAI completions endpoint on 127.0.0.1 (HttpListener) that answers each request with what
/// <paramref name="answer"/> says: a status code, or choices. Counts the requests and the prompts it was sent.
/// </summary>
internal sealed class FakeOpenAiServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<JsonObject, (HttpStatusCode Status, string Body)> _answer;
    private readonly Task _serving;
    private int _requests;

    public FakeOpenAiServer(Func<JsonObject, (HttpStatusCode, string)> answer)
    {
        _answer = answer;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Url = $"http://127.0.0.1:{port}/v1";
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    public string Url { get; }

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Prompts (their token ids joined) seen in successful answers, in order.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Answered { get; } = new();

    /// <summary>A completions answer of n choices, each with <paramref name="text"/> and, unless null, these token ids (as vLLM's return_token_ids).</summary>
    public static (HttpStatusCode, string) Choices(JsonObject request, string text, int[]? ids)
    {
        int n = (int)request["n"]!;
        var choices = new JsonArray([.. Enumerable.Range(0, n).Select(i => (JsonNode)new JsonObject
        {
            ["index"] = n - 1 - i, // out of order, as servers may answer
            ["text"] = text,
            ["token_ids"] = ids is null ? null : new JsonArray([.. ids.Select(t => JsonValue.Create(t))]),
            ["finish_reason"] = "length",
        })]);
        return (HttpStatusCode.OK, new JsonObject { ["choices"] = choices }.ToJsonString());
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }
            Interlocked.Increment(ref _requests);
            try
            {
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var request = JsonNode.Parse(await reader.ReadToEndAsync())!.AsObject();
                var (status, body) = _answer(request);
                if (status == HttpStatusCode.OK) Answered.Enqueue(request["prompt"]!.ToJsonString());
                context.Response.StatusCode = (int)status;
                await context.Response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(body));
                context.Response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or IOException)
            {
                // The client went away first (a sampler that gave up cancels its other requests), as real ones do.
                context.Response.Abort();
            }
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _serving.GetAwaiter().GetResult();
    }
}
