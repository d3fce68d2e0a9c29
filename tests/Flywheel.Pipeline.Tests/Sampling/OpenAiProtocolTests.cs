using System.Text.Json;
using Flywheel.Llama.Chat;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Sampling.Remote;

namespace Flywheel.Pipeline.Tests.Sampling;

/// <summary>The wire format: what a request asks for, and the token ids read back from vLLM's and llama-server's answers.</summary>
public class OpenAiProtocolTests
{
    private static readonly SamplingConfig Sampling = new() { K = 2, Temperature = 0.7f, TopK = 0, TopP = 0.9f, MinP = 0.05f, MaxNewTokens = 12, Stop = ["\n\n"] };

    [Fact]
    public void The_completions_route_sends_the_prompt_as_token_ids_with_every_sampling_setting()
    {
        var body = OpenAiProtocol.Request(Sampling, "policy", [1, 2, 3], [new ChatMessage("user", "hi")], 2, 42);
        Assert.Equal("policy", (string?)body["model"]);
        Assert.Equal([1, 2, 3], body["prompt"]!.AsArray().Select(t => (int)t!));
        Assert.Null(body["messages"]);
        Assert.Equal(2, (int)body["n"]!);
        Assert.Equal(12, (int)body["max_tokens"]!);
        Assert.Equal(0.7f, (float)body["temperature"]!);
        Assert.Equal(0.9f, (float)body["top_p"]!);
        Assert.Equal(-1, (int)body["top_k"]!); // off
        Assert.Equal(0.05f, (float)body["min_p"]!);
        Assert.Equal(42u, (uint)body["seed"]!);
        Assert.Equal(["\n\n"], body["stop"]!.AsArray().Select(s => (string)s!));
        Assert.True((bool)body["return_token_ids"]!);
        Assert.Equal(1, (int)body["logprobs"]!);
        Assert.Equal("completions", OpenAiProtocol.Path(Sampling.Route));
    }

    [Fact]
    public void The_chat_route_sends_the_messages_for_the_server_to_template()
    {
        var body = OpenAiProtocol.Request(Sampling with { Route = "chat" }, "policy", [1, 2, 3], [new ChatMessage("system", "be brief"), new ChatMessage("user", "hi")], 2, 42);
        Assert.Null(body["prompt"]);
        Assert.Equal("""[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]""", body["messages"]!.ToJsonString());
        Assert.Equal("chat/completions", OpenAiProtocol.Path("chat"));
    }

    [Fact]
    public void Token_ids_come_from_vllms_token_ids_or_llama_servers_logprobs_and_are_absent_otherwise()
    {
        using var vllm = JsonDocument.Parse("""
            {"prompt_token_ids":[1,2,3],"choices":[
              {"index":1,"text":" b","token_ids":[7,8],"finish_reason":"stop","stop_reason":"\n\n"},
              {"index":0,"text":" a","token_ids":[5,6,2],"finish_reason":"stop","stop_reason":null}]}
            """);
        var choices = OpenAiProtocol.Choices(vllm.RootElement, "completions", 2);
        Assert.Equal([5, 6, 2], choices[0].TokenIds!);
        Assert.Equal("token_ids", choices[0].TokenIdSource);
        Assert.False(choices[0].StopString);
        Assert.True(choices[1].StopString);
        Assert.Equal(" b", choices[1].Text);
        Assert.Equal([1, 2, 3], OpenAiProtocol.PromptTokenIds(vllm.RootElement)!);

        using var llamaServer = JsonDocument.Parse("""
            {"choices":[{"message":{"role":"assistant","content":"12"},"index":0,"finish_reason":"length",
              "logprobs":{"content":[{"id":49,"token":"1","logprob":-0.1},{"id":50,"token":"2","logprob":-0.2}]}}]}
            """);
        var chat = Assert.Single(OpenAiProtocol.Choices(llamaServer.RootElement, "chat", 1));
        Assert.Equal(("12", "length", "logprobs"), (chat.Text, chat.FinishReason, chat.TokenIdSource));
        Assert.Equal([49, 50], chat.TokenIds!);
        Assert.Null(OpenAiProtocol.PromptTokenIds(llamaServer.RootElement));

        using var plain = JsonDocument.Parse("""{"choices":[{"index":0,"text":"x","logprobs":null,"finish_reason":"stop"}]}""");
        var text = Assert.Single(OpenAiProtocol.Choices(plain.RootElement, "completions", 1));
        Assert.Null(text.TokenIds);
        Assert.Null(text.TokenIdSource);
    }

    [Theory]
    [InlineData("""{"choices":[{"index":0,"text":"x"}]}""", "the response has 1 choices; 2 were asked for")]
    [InlineData("""{"choices":[{"index":0,"text":"x"},{"index":0,"text":"y"}]}""", "the response has choice 0 of 2 twice or out of range")]
    [InlineData("""{"error":"overloaded"}""", "the response has no 'choices' array")]
    public void An_answer_without_exactly_the_candidates_asked_for_is_a_failed_request(string json, string message)
    {
        using var doc = JsonDocument.Parse(json);
        Assert.Equal(message, Assert.Throws<JsonException>(() => OpenAiProtocol.Choices(doc.RootElement, "completions", 2)).Message);
    }
}
