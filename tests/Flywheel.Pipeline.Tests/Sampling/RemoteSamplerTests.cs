using System.Net;
using Flywheel.Llama.Chat;
using Flywheel.Llama.Gguf;
using Flywheel.Llama.Sampling;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Datasets;
using Flywheel.Pipeline.Sampling.Remote;
using Flywheel.Pipeline.Stages;
using Flywheel.Pipeline.Tests.Datasets;

namespace Flywheel.Pipeline.Tests.Sampling;

/// <summary>
/// The OpenAI sampler against endpoints that fail: prompts move to the healthy one and each comes back once with its
/// K candidates; a prompt no endpoint can take fails the pass instead of going missing; a refused key is not retried
/// elsewhere. Token ids are kept where they spell the text, else the text is tokenized.
/// </summary>
public class RemoteSamplerTests
{
    private const int K = 3;
    private static readonly int[] TwelveIds = [49, 50]; // "12" in the byte-level vocabulary

    private static string Policy()
    {
        string path = TestFiles.NewPath("policy.gguf");
        TinyLlama.Create(path, new TinyLlamaOptions
        {
            Hyperparameters = new LlamaHyperparameters { EmbeddingLength = 32, Layers = 1, Heads = 2, KvHeads = 1, FeedForwardLength = 64, ContextLength = 256 },
        });
        return path;
    }

    private static FlywheelConfig Config(string policy, params FakeOpenAiServer[] servers) => new()
    {
        Policy = new PolicyConfig { Model = policy },
        Prompts = new PromptsConfig { Path = "unused.jsonl" },
        Sampling = new SamplingConfig
        {
            K = K, MaxNewTokens = 2, Backend = "openai",
            Endpoints = [.. servers.Select(s => new EndpointConfig { Url = s.Url, Model = "policy", MaxConcurrency = 2 })],
        },
    };

    private static async IAsyncEnumerable<PromptItem> Prompts(int count)
    {
        for (int i = 0; i < count; i++)
        {
            await Task.Yield();
            yield return new PromptItem(i, new PromptRecord($"p{i}", [new ChatMessage("user", $"{i}+1=")], null));
        }
    }

    private static async Task<List<(PromptItem Item, GenerationResult Result)>> SampleAll(RemoteSampler sampler, int prompts)
    {
        var results = new List<(PromptItem, GenerationResult)>();
        await foreach (var r in sampler.SampleAsync(Prompts(prompts), 7, 1, "sample", CancellationToken.None)) results.Add(r);
        return results;
    }

    [Fact]
    public async Task Prompts_an_endpoint_fails_move_to_the_healthy_one_and_each_comes_back_once_with_its_candidates()
    {
        using var healthy = new FakeOpenAiServer(r => FakeOpenAiServer.Choices(r, "12", TwelveIds));
        using var failing = new FakeOpenAiServer(_ => (HttpStatusCode.ServiceUnavailable, "overloaded"));
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var sampler = new RemoteSampler(Policy(), Config(Policy(), failing, healthy), null, 1, new Progress<PipelineEvent>(), log.Enqueue);
        var results = await SampleAll(sampler, 20);

        Assert.Equal(Enumerable.Range(0, 20), results.Select(r => r.Item.Index).Order());
        Assert.All(results, r =>
        {
            Assert.Equal(Enumerable.Range(0, K), r.Result.Candidates.Select(c => c.Index));
            Assert.All(r.Result.Candidates, c =>
            {
                Assert.Equal("12", c.Text);
                Assert.Equal(TwelveIds, c.Tokens);
                Assert.Equal(FinishReason.Length, c.FinishReason);
            });
            Assert.NotEmpty(r.Result.Request.PromptTokens);
        });
        Assert.Equal(20, healthy.Answered.Count);
        Assert.True(failing.Requests >= 3, $"the failing endpoint saw {failing.Requests} requests: it was not retried");
        Assert.Contains(log, l => l.Contains("re-sending it to another endpoint", StringComparison.Ordinal));
        Assert.Contains(log, l => l.StartsWith($"round 1: endpoint {healthy.Url}: 20 prompts, 120 tokens", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_prompt_that_fails_on_every_endpoint_fails_the_pass_naming_it()
    {
        using var a = new FakeOpenAiServer(_ => (HttpStatusCode.InternalServerError, "boom"));
        using var b = new FakeOpenAiServer(_ => (HttpStatusCode.BadGateway, "down"));
        using var sampler = new RemoteSampler(Policy(), Config(Policy(), a, b), null, 1, new Progress<PipelineEvent>(), _ => { });
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => SampleAll(sampler, 4));
        // Each endpoint's own failure: its last HTTP error, or that its circuit had opened.
        string either(FakeOpenAiServer s, string error) => $"({System.Text.RegularExpressions.Regex.Escape(s.Url)} answered {error}|{System.Text.RegularExpressions.Regex.Escape(s.Url)}: taken out of rotation after repeated failures)";
        string pattern = $"^prompt 'p[0-3]' failed on every endpoint: ({either(a, "500 InternalServerError: boom")}; {either(b, "502 BadGateway: down")}|{either(b, "502 BadGateway: down")}; {either(a, "500 InternalServerError: boom")})$";
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(e.Message, pattern), e.Message);
    }

    [Fact]
    public async Task The_last_prompt_failing_is_not_lost_when_the_others_succeed()
    {
        // Only prompt 5 (the last) fails everywhere: the pass must fail rather than end with five prompts.
        static bool Last(System.Text.Json.Nodes.JsonObject r) => r["prompt"]!.ToJsonString().Contains(",53,43,49,61,", StringComparison.Ordinal); // "5+1="
        using var a = new FakeOpenAiServer(r => Last(r) ? (HttpStatusCode.InternalServerError, "boom") : FakeOpenAiServer.Choices(r, "12", TwelveIds));
        using var sampler = new RemoteSampler(Policy(), Config(Policy(), a), null, 1, new Progress<PipelineEvent>(), _ => { });
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => SampleAll(sampler, 6));
        Assert.StartsWith("prompt 'p5' failed on every endpoint", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_key_fails_the_pass_at_once_instead_of_moving_on()
    {
        using var refusing = new FakeOpenAiServer(_ => (HttpStatusCode.Unauthorized, "invalid api key"));
        using var healthy = new FakeOpenAiServer(r => FakeOpenAiServer.Choices(r, "12", TwelveIds));
        using var sampler = new RemoteSampler(Policy(), Config(Policy(), refusing, healthy), null, 1, new Progress<PipelineEvent>(), _ => { });
        var e = await Assert.ThrowsAsync<EndpointStatusException>(() => SampleAll(sampler, 50));
        Assert.Equal($"{refusing.Url} answered 401 Unauthorized: invalid api key", e.Message);
        Assert.Equal(HttpStatusCode.Unauthorized, e.Status);
    }

    [Fact]
    public async Task Token_ids_that_do_not_spell_the_text_are_replaced_by_the_text_tokenized_and_counted()
    {
        int[] ascii = [.. "1x".Select(c => (int)c)];
        using var lossy = new FakeOpenAiServer(r => FakeOpenAiServer.Choices(r, "1x", [49])); // one token of the two missing
        using var plain = new FakeOpenAiServer(r => FakeOpenAiServer.Choices(r, "1x", null));
        foreach (var server in new[] { lossy, plain })
        {
            var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
            using var sampler = new RemoteSampler(Policy(), Config(Policy(), server), null, 1, new Progress<PipelineEvent>(), log.Enqueue);
            var results = await SampleAll(sampler, 2);
            Assert.All(results.SelectMany(r => r.Result.Candidates), c => Assert.Equal(ascii, c.Tokens.ToArray()));
            Assert.Contains(log, l => l.Contains(server == lossy ? "do not spell its text" : "returns no token ids", StringComparison.Ordinal));
        }
    }
}
