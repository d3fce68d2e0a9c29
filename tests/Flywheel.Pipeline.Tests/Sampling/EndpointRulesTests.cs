using Flywheel.Pipeline.Config;

namespace Flywheel.Pipeline.Tests.Sampling;

/// <summary>backend openai's config rules, each naming the key at fault.</summary>
public class EndpointRulesTests
{
    private static FlywheelConfig Config(SamplingConfig sampling) => new()
    {
        Policy = new PolicyConfig { Model = "p.gguf" },
        Prompts = new PromptsConfig { Path = "prompts.jsonl" },
        Preferences = [new PreferenceSourceConfig { Path = "pairs.jsonl" }],
        Sampling = sampling,
    };

    private static SamplingConfig OpenAi(params EndpointConfig[] endpoints) => new() { Backend = "openai", Endpoints = endpoints };

    private static EndpointConfig Good => new() { Url = "http://10.0.0.5:8000/v1", Model = "policy" };

    [Fact]
    public void Endpoints_with_a_url_and_model_are_a_valid_config()
    {
        Assert.Empty(ConfigLoader.Validate(Config(OpenAi(Good, Good with { Url = "https://gpu-2.example:443/v1", ApiKeyEnv = "GPU2_KEY", MaxConcurrency = 2, MaxN = 4 }))));
        Assert.Empty(ConfigLoader.Validate(Config(new SamplingConfig())));
    }

    [Theory]
    [InlineData("localhost:8080/v1")]
    [InlineData("127.0.0.1:8080")]
    [InlineData("ftp://host/v1")]
    [InlineData("/v1")]
    [InlineData("")]
    public void A_url_without_an_http_scheme_is_refused(string url)
    {
        var errors = ConfigLoader.Validate(Config(OpenAi(Good, Good with { Url = url })));
        Assert.Equal($"$.sampling.endpoints[1].url: must be an absolute http:// or https:// URL such as http://127.0.0.1:8080/v1, got '{url}'", Assert.Single(errors));
    }

    [Fact]
    public void Each_bad_endpoint_setting_is_named()
    {
        Assert.Equal("$.sampling.backend: must be local or openai, got 'vllm'", Assert.Single(ConfigLoader.Validate(Config(new SamplingConfig { Backend = "vllm" }))));
        Assert.Equal("$.sampling.endpoints: backend openai needs at least one endpoint", Assert.Single(ConfigLoader.Validate(Config(OpenAi()))));
        Assert.Equal("$.sampling.endpoints[0].model: is required: the name the server serves the policy under", Assert.Single(ConfigLoader.Validate(Config(OpenAi(Good with { Model = " " })))));
        Assert.Equal("$.sampling.endpoints[0].max_concurrency: must be ≥ 1, got 0", Assert.Single(ConfigLoader.Validate(Config(OpenAi(Good with { MaxConcurrency = 0 })))));
        Assert.Equal("$.sampling.endpoints[0].max_n: must be ≥ 1, got 0", Assert.Single(ConfigLoader.Validate(Config(OpenAi(Good with { MaxN = 0 })))));
        Assert.Equal("$.sampling.endpoints[0].api_key_env: must name an environment variable, got 'KEY=sk-123'", Assert.Single(ConfigLoader.Validate(Config(OpenAi(Good with { ApiKeyEnv = "KEY=sk-123" })))));
        Assert.Equal("$.sampling.route: must be completions or chat, got 'responses'", Assert.Single(ConfigLoader.Validate(Config(OpenAi(Good) with { Route = "responses" }))));
        Assert.Equal("$.sampling.request_timeout_seconds: must be in (0.01, 86400), got 0", Assert.Single(ConfigLoader.Validate(Config(OpenAi(Good) with { RequestTimeoutSeconds = 0 }))));
        Assert.Equal("$.sampling.endpoints: http://10.0.0.5:8000/v1 with model 'policy' is listed 2 times", Assert.Single(ConfigLoader.Validate(Config(OpenAi(Good, Good with { Url = Good.Url + "/" })))));
    }

    [Fact]
    public void Endpoint_settings_are_not_checked_for_the_local_backend()
    {
        Assert.Empty(ConfigLoader.Validate(Config(new SamplingConfig { Endpoints = [Good with { Url = "nowhere" }] })));
    }
}
