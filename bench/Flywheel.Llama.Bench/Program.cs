using System.Diagnostics;
using System.Globalization;
using Flywheel.Llama;
using Flywheel.Llama.Gguf;
using Flywheel.Llama.Sampling;

// Generated tokens/s for P prompts × K candidates × N new tokens on a tiny model, three ways in one run:
// Flywheel sharing each prompt's KV across its K candidates, Flywheel evaluating the prompt once per candidate, and
// LLamaSharp's own BatchedExecutor with Conversation.Fork (same GGUF, same sampling settings, same sequences and
// threads). Rounds are interleaved and medians reported, so a noisy shared machine affects all three alike.
// --model PATH runs a GGUF of your own instead of the one made here; --prompts takes a count or a JSON file holding
// an array of prompt strings (fed as raw text, BOS added, no chat template). --vocab PATH makes the model with the
// tokenizer of that GGUF (e.g. tests/Flywheel.Llama.Tests/TestData/vocab/ggml-vocab-llama-bpe.gguf, Llama 3's 128K
// vocabulary) instead of the byte-level one. --save-model PATH and --save-prompts PATH write the GGUF and prompts a run
// would use and exit.
var args_ = ParseArgs(args);
int Int(string key, int fallback) => args_.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
string? promptsFile = args_.TryGetValue("prompts", out var p) && !int.TryParse(p, CultureInfo.InvariantCulture, out _) ? p : null;
int k = Int("k", 8), newTokens = Int("new-tokens", 128);
int promptChars = Int("prompt-chars", 300), sequences = Int("sequences", 64);
int threads = Int("threads", Environment.ProcessorCount), rounds = Int("rounds", 3);
bool executor = Int("executor", 1) == 1, separateRuns = Int("separate", 1) == 1;
// --flash-attention 1: llama.cpp's flash attention in every run here (the sampler's default is off: see its option).
bool flashAttention = Int("flash-attention", 0) == 1;
// --cuda 1: the model on the GPU (a build with -p:FlywheelCuda=true, or llama.cpp's CUDA libraries under --lib-dir).
var device = Int("cuda", 0) == 1 ? ComputeDevice.Cuda : ComputeDevice.Cpu;
var texts = promptsFile is not null
    ? System.Text.Json.JsonSerializer.Deserialize<string[]>(File.ReadAllText(promptsFile)) ?? throw new InvalidDataException($"{promptsFile}: not a JSON array of strings")
    : Enumerable.Range(0, Int("prompts", 64)).Select(i => MakePrompt(i, promptChars)).ToArray();
int prompts = texts.Length;

string work = Directory.CreateTempSubdirectory("flywheel-bench-").FullName;
string modelPath = args_.GetValueOrDefault("model") ?? Path.Combine(work, "bench.gguf");
// 3.3M parameters by default: 256 wide, 4 layers, 4 query / 2 KV heads. Its generated token spends most of its time in
// the weights' matrix products, as a real model's does; in the 461K-parameter model (--width 128 --layers 2 --heads 2
// --kv-heads 1) attending to ~400 cached cells takes as long as those products (bench/README.md has both).
int width = Int("width", 256), layers = Int("layers", 4);
// Head size 64 (as in Llama 3.2 1B and Qwen 2.5 0.5B): below 64, ggml's AVX-512 f16 dot product runs its scalar tail,
// which makes every generated token's attention several times dearer than in a real model.
int heads = Int("heads", 4), kvHeads = Int("kv-heads", 2);
if (!args_.ContainsKey("model"))
{
    var hp = new LlamaHyperparameters
    {
        EmbeddingLength = width, Layers = layers, Heads = heads, KvHeads = kvHeads, FeedForwardLength = 3 * width,
        ContextLength = (texts.Max(t => t.Length) + newTokens + 16 + 255) / 256 * 256,
        // With a real vocabulary the output is tied to the embeddings, as in Llama 3.2 1B and Qwen 2.5 0.5B: an untied
        // 128K-row output would double the file, not the work.
        TiedOutput = args_.ContainsKey("vocab"),
    };
    TinyLlama.Create(modelPath, new TinyLlamaOptions { Hyperparameters = hp, Seed = 11, InitStd = 0.25f, VocabularyFrom = args_.GetValueOrDefault("vocab") });
}
// --save-model PATH / --save-prompts PATH: write the GGUF and the prompts this run would use, and exit without running
// (for benches of other engines on the same workload, such as bench/llama-server-compare.sh).
if (args_.ContainsKey("save-model") || args_.ContainsKey("save-prompts"))
{
    if (args_.TryGetValue("save-model", out var saveModel)) File.Copy(modelPath, saveModel, overwrite: true);
    if (args_.TryGetValue("save-prompts", out var savePrompts)) File.WriteAllText(savePrompts, System.Text.Json.JsonSerializer.Serialize(texts));
    Directory.Delete(work, true);
    return;
}

LlamaBackend.Initialize(new BackendOptions { Device = device, LibraryDirectory = Environment.GetEnvironmentVariable("FLYWHEEL_NATIVE_DIR") });
using var model = LlamaModel.Load(modelPath);
var promptTokens = texts.Select(t => model.Vocabulary.Tokenize(t, addSpecial: true)).ToArray();
// Every sequence holds the longest prompt and the new tokens (llama.cpp rounds a sequence's context up to 256).
int contextPerSequence = (promptTokens.Max(t => t.Length) + newTokens + 255) / 256 * 256;
Console.WriteLine($"model: {Path.GetFileName(modelPath)}, {model.ParameterCount:N0} parameters ({model.LayerCount} layers, {model.EmbeddingLength} wide, {model.Vocabulary.Count:N0}-token vocabulary); {prompts} prompts of {promptTokens.Average(t => t.Length):F0} tokens on average (longest {promptTokens.Max(t => t.Length)}) × K={k} × {newTokens} new tokens; {sequences} sequences, {threads} threads, {device}, flash attention {(flashAttention ? "on" : "off")}");
// --ceiling 1: llama-batched-bench's measurement on this engine, for the prompts' mean length (DecodeCeiling.cs).
if (Int("ceiling", 0) == 1)
{
    int promptMean = (int)Math.Round(promptTokens.Average(t => t.Length));
    var (pp, tg) = await DecodeCeiling.RunAsync(modelPath, promptMean, newTokens, sequences, (promptMean + newTokens + 255) / 256 * 256, Int("batch", 512), threads, flashAttention);
    Console.WriteLine($"decode ceiling on LLamaSharp's llama.cpp: {sequences} sequences × ({promptMean} prompt + {newTokens} new tokens): prompt {pp:F0} tok/s, generation {tg:F0} tok/s");
    Directory.Delete(work, true);
    return;
}
// --rounds 0: that line alone (the prompts' length in this model's tokens, for benches of other engines).
if (rounds == 0)
{
    Directory.Delete(work, true);
    return;
}
var sampling = new SamplingOptions { Temperature = 0.8f, TopK = 40, TopP = 0.95f, MinP = 0.05f, MaxNewTokens = newTokens };
var requests = promptTokens.Select((t, i) => new GenerationRequest
{
    PromptTokens = t,
    Candidates = k,
    Sampling = sampling,
    Seed = (ulong)i,
}).ToArray();

int batch = Int("batch", 512);
var results = new Dictionary<string, List<double>> { ["shared"] = [], ["separate"] = [], ["executor"] = [] };
for (int round = 0; round < rounds; round++)
{
    var (sharedTokS, generated, stats) = await Flywheel(sharePrompt: true);
    results["shared"].Add(sharedTokS);
    if (separateRuns) results["separate"].Add((await Flywheel(sharePrompt: false)).TokensPerSecond);
    if (executor) results["executor"].Add(await LLamaSharpBatched.RunAsync(modelPath, requests.Select(r => r.PromptTokens.Select(t => (LLama.Native.LLamaToken)t).ToArray()).ToArray(),
        k, newTokens, sequences, contextPerSequence, batch, threads, flashAttention,
        (prompt, candidate) => new LLama.Sampling.DefaultSamplingPipeline
        {
            Temperature = sampling.Temperature, TopK = sampling.TopK, TopP = sampling.TopP, MinP = sampling.MinP,
            Seed = GenerationRequest.CandidateSeed((ulong)prompt, candidate),
        }));
    Console.WriteLine($"round {round + 1}: " + string.Join(", ", results.Where(r => r.Value.Count > round).Select(r => $"{r.Key} {r.Value[round]:N0} tok/s")) + $" ({generated:N0} tokens generated shared)");
    Console.WriteLine($"  shared: {stats.Decodes:N0} decodes of {stats.TokensDecoded:N0} tokens ({(double)stats.TokensDecoded / stats.Decodes:F1} a decode; {stats.Placeholders:N0} placeholders), {stats.Moves:N0} candidates moved down, {stats.ReusedPromptTokens:N0} prompt tokens reused");
}
double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
double shared = Median(results["shared"]);
Console.WriteLine();
Console.WriteLine($"| engine | generated tok/s (median of {rounds}) | ratio |");
Console.WriteLine("| --- | --- | --- |");
Console.WriteLine($"| Flywheel, prompt KV shared across K | {shared:N0} | 1.00 |");
if (separateRuns) Console.WriteLine($"| Flywheel, prompt evaluated per candidate | {Median(results["separate"]):N0} | shared is {shared / Median(results["separate"]):F2}× |");
if (executor) Console.WriteLine($"| LLamaSharp 0.30.0 BatchedExecutor + Fork | {Median(results["executor"]):N0} | shared is {shared / Median(results["executor"]):F2}× |");
Directory.Delete(work, true);

async Task<(double TokensPerSecond, long Generated, SamplerStatistics Stats)> Flywheel(bool sharePrompt)
{
    using var sampler = new BatchedSampler(model, new BatchedSamplerOptions
    {
        Sequences = sequences, ContextPerSequence = contextPerSequence, BatchTokens = batch, Threads = threads, SharePromptKv = sharePrompt, FlashAttention = flashAttention,
    });
    var clock = Stopwatch.StartNew();
    long generated = 0;
    await foreach (var r in sampler.GenerateAsync(requests)) generated += r.Candidates.Sum(c => c.TokenCount);
    return (generated / clock.Elapsed.TotalSeconds, generated, sampler.Statistics);
}

static string MakePrompt(int i, int chars)
{
    string text = $"System: You are a careful assistant. Question {i}: ";
    var words = new[] { "what", "is", "the", "sum", "of", "seven", "and", "twelve", "apples", "in", "a", "basket", "today" };
    var random = new Random(i);
    while (text.Length < chars) text += words[random.Next(words.Length)] + " ";
    return text[..chars];
}

static Dictionary<string, string> ParseArgs(string[] args)
{
    var d = new Dictionary<string, string>();
    for (int i = 0; i + 1 < args.Length; i += 2) d[args[i].TrimStart('-')] = args[i + 1];
    return d;
}
