using System.Diagnostics;
using System.Globalization;
using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Datasets;
using Flywheel.Pipeline.Sampling.Remote;
using Flywheel.Pipeline.Stages;

/// <summary>
/// `--sampler local|openai`: generated tokens/s of one of the round's samplers (IPromptSampler) on a JSON array of
/// prompts, each the user message of a chat (the policy's template applied, as in a run): the in-process
/// CandidateSampler, or the RemoteSampler against the OpenAI-compatible servers in --endpoints (comma-separated base
/// URLs serving the model as "policy"). Prints "tok_per_s tokens seconds" (bench/openai-sampler-compare.sh reads it).
/// </summary>
internal static class SamplerCompare
{
    public static async Task RunAsync(Dictionary<string, string> args)
    {
        int Int(string key, int fallback) => args.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        string model = args["model"];
        string[] texts = System.Text.Json.JsonSerializer.Deserialize<string[]>(await File.ReadAllTextAsync(args["prompts"]))!;
        int k = Int("k", 8), newTokens = Int("new-tokens", 128), threads = Int("threads", 1), sequences = Int("sequences", 64);
        var endpoints = args.TryGetValue("endpoints", out var urls)
            ? urls.Split(',').Select(u => new EndpointConfig { Url = u, Model = "policy", MaxConcurrency = Int("concurrency", sequences / k) }).ToList()
            : [];
        var config = new FlywheelConfig
        {
            Name = "bench",
            Policy = new PolicyConfig { Model = model },
            Prompts = new PromptsConfig { Path = args["prompts"] },
            Sampling = new SamplingConfig
            {
                K = k, Temperature = 0.8f, TopK = 40, TopP = 0.95f, MinP = 0.05f, MaxNewTokens = newTokens, Sequences = sequences,
                Backend = args["sampler"], Endpoints = endpoints,
            },
        };
        LlamaBackend.Initialize(new BackendOptions { Device = ComputeDevice.Cpu });
        int context;
        using (var vocabulary = LlamaModel.Load(model, new ModelOptions { VocabularyOnly = true })) context = vocabulary.TrainingContextLength;
        using IPromptSampler sampler = args["sampler"] == "openai"
            ? new RemoteSampler(model, config, null, 1, new Progress<PipelineEvent>(), Console.Error.WriteLine)
            : new CandidateSampler(model, config, k, threads, context - newTokens, null);
        var items = texts.Select((t, i) => new PromptItem(i, new PromptRecord($"p{i}", [new ChatMessage("user", t)], null))).ToArray();
        foreach (var item in items)
            if (sampler.Problem(item.Prompt) is { } problem) throw new InvalidDataException(problem);
        long generated = 0;
        var clock = Stopwatch.StartNew();
        await foreach (var (_, result) in sampler.SampleAsync(items.ToAsyncEnumerable(), 1, 1, "bench", CancellationToken.None))
            generated += result.Candidates.Sum(c => c.TokenCount);
        double seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{generated / seconds:F1} {generated} {seconds:F3}"));
    }
}
