using System.Diagnostics;
using System.Globalization;
using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Llama.Gguf;
using Flywheel.Training;
using Flywheel.Training.RewardModel;
using Flywheel.Training.Sft;

// Training tokens/s of a ~10M-parameter Llama (256 wide, 12 layers, GQA 8/4 heads, 768 feed-forward, byte vocabulary)
// on sequences of 256 tokens. Usage:
//   dotnet run -c Release --project bench/Flywheel.Training.Bench -- [--task sft|rm] [--device cpu|cuda|auto]
//       [--threads N] [--steps N] [--sequences N] [--length N]
//       [--width N] [--layers N] [--vocabulary VOCAB.gguf] [--lora RANK]
// --vocabulary takes a GGUF's tokenizer (e.g. llama.cpp's ggml-vocab-llama-bpe.gguf: 128,256 tokens) and Llama 3's
// chat template; --lora trains rank-N adapters (and the reward head) instead of every weight.
var options = new Dictionary<string, string>();
for (int i = 0; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = args[i + 1];
string Get(string key, string fallback) => options.GetValueOrDefault(key, fallback);
int GetInt(string key, int fallback) => int.Parse(Get(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

string task = Get("task", "sft");
var device = Enum.Parse<ComputeDevice>(Get("device", "cpu"), ignoreCase: true);
int threads = GetInt("threads", LlamaBackend.DefaultThreadCount);
int steps = GetInt("steps", 10);
int sequences = GetInt("sequences", 8);
int length = GetInt("length", 256);

int width = GetInt("width", 256);
string? vocabulary = options.GetValueOrDefault("vocabulary");
int lora = GetInt("lora", 0);
var hp = new LlamaHyperparameters
{
    EmbeddingLength = width, Layers = GetInt("layers", 12), Heads = width / 32, KvHeads = width / 64, FeedForwardLength = 3 * width,
    ContextLength = Math.Max(1024, length),
};
string dir = Directory.CreateTempSubdirectory("flywheel-bench-").FullName;
string model = Path.Combine(dir, "bench.gguf");
TinyLlama.Create(model, new TinyLlamaOptions { Hyperparameters = hp, Seed = 1, VocabularyFrom = vocabulary });
long parameters = GgufFile.Open(model).Tensors.Sum(t => t.ElementCount);

// Replies longer than the budget: every example is truncated to exactly `length` tokens (prompt kept short).
var random = new Random(1);
// A BPE vocabulary merges letters: enough of them that every reply still fills `length` tokens.
string Text(int n) => new(Enumerable.Range(0, vocabulary is null ? n : 4 * n).Select(_ => (char)('a' + random.Next(26))).ToArray());
var prompt = new[] { new ChatMessage("user", "go") };
var common = (TrainingOptions o) => o with
{
    Device = device, Threads = threads, MaxLength = length, Epochs = 1, LearningRate = 1e-4, WarmupSteps = 0,
    Layers = lora > 0 ? TrainableLayers.WithLora(new LoraOptions { Rank = lora, Alpha = 2 * lora }) : TrainableLayers.All,
};
var template = vocabulary is null ? null : ChatTemplate.Named("llama3");
var progress = new Progress(steps);
var clock = Stopwatch.StartNew();
string deviceName;
long trainable;
if (task == "score")
{
    // The two ways to score with a trained reward model, on the same replies (4 per prompt, as candidates come): the
    // TorchSharp forward pass (RewardScorer), and the exported GGUF through llama.cpp's last-token embedder with the
    // head applied to its hidden states (what RewardScorer did before).
    var pairs = Enumerable.Range(0, 4).Select(_ => new RewardPair(prompt, Text(length * 2), Text(length * 2))).ToList();
    // Prompts as long as the replies: llama.cpp evaluates a prompt shared by its replies once, the trainer once per reply.
    var prompts = Enumerable.Range(0, steps * sequences / 4).Select(_ => new[] { new ChatMessage("user", Text(length / 2)) }).ToList();
    var queries = prompts.SelectMany(p => Enumerable.Range(0, 4).Select(_ => new RewardQuery(p, Text(length / 2)))).ToList();
    using var trainer = new RewardModelTrainer(model, (RewardModelOptions)common(new RewardModelOptions { TokensPerBatch = sequences * length, Template = template }));
    trainer.Train(pairs);
    string exported = Path.Combine(dir, "rm.gguf");
    trainer.Export(exported);
    using var scorer = RewardScorer.Load(exported, new RewardScorerOptions { Threads = threads, Template = template, Device = device, TokensPerBatch = sequences * length });
    var torchClock = Stopwatch.StartNew();
    float[] fromTorch = [.. prompts.Select((_, i) => queries.Skip(4 * i).Take(4).ToList()).SelectMany(q => scorer.Score(q))];
    double torchSeconds = torchClock.Elapsed.TotalSeconds;

    var head = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(exported, ".head.json"))).RootElement;
    float[] weight = [.. head.GetProperty("weight").EnumerateArray().Select(w => w.GetSingle())];
    float bias = head.GetProperty("bias").GetSingle();
    using var engineModel = LlamaModel.Load(exported, new ModelOptions { GpuLayers = device == ComputeDevice.Cpu ? 0 : -1 });
    var chat = template ?? ChatTemplate.FromModel(engineModel);
    var encoder = new Flywheel.Training.Data.ConversationEncoder(engineModel.Vocabulary, chat, length);
    var encoded = queries.Select(q => (IReadOnlyList<int>)encoder.Encode(q.Prompt, q.Response).Sequence(0)).ToList();
    using var embedder = new Flywheel.Llama.Embedding.LastTokenEmbedder(engineModel, new Flywheel.Llama.Embedding.EmbedderOptions
    {
        Sequences = sequences, ContextPerSequence = 2 * length, BatchTokens = Math.Max(2 * length, 2048), Threads = threads,
    });
    var llamaClock = Stopwatch.StartNew();
    var fromLlama = new List<float>();
    for (int i = 0; i < prompts.Count; i++)
        fromLlama.AddRange(embedder.Embed(encoded.Skip(4 * i).Take(4).ToList()).Select(h => bias + h.Zip(weight, (x, w) => x * w).Sum()));
    double llamaSeconds = llamaClock.Elapsed.TotalSeconds;
    double worst = fromTorch.Zip(fromLlama, (a, b) => Math.Abs(a - b)).Max() / (fromTorch.Max(Math.Abs) + 1e-9);
    long tokens = queries.Count * (long)length;
    Console.WriteLine(FormattableString.Invariant(
        $"score: {queries.Count} replies of ~{length} tokens, half prompt, half reply ({prompts.Count} prompts × 4), {threads} threads: TorchSharp forward {tokens / torchSeconds:F0} tokens/s, llama.cpp embedder {tokens / llamaSeconds:F0} tokens/s (largest difference {worst:E1} of the reward scale)"));
    Directory.Delete(dir, recursive: true);
    return;
}
if (task == "rm")
{
    var pairs = Enumerable.Range(0, steps * sequences / 2).Select(_ => new RewardPair(prompt, Text(length * 2), Text(length * 2))).ToList();
    using var trainer = new RewardModelTrainer(model, (RewardModelOptions)common(new RewardModelOptions { TokensPerBatch = sequences * length, Template = template }));
    deviceName = trainer.DeviceName;
    trainable = trainer.TrainableParameters;
    trainer.Train(pairs, progress: progress);
}
else
{
    var examples = Enumerable.Range(0, steps * sequences).Select(_ => new SftExample(prompt, Text(length * 2))).ToList();
    using var trainer = new SftTrainer(model, (SftOptions)common(new SftOptions { TokensPerBatch = sequences * length, Template = template }));
    deviceName = trainer.DeviceName;
    trainable = trainer.TrainableParameters;
    trainer.Train(examples, progress: progress);
}
// The first step pays for allocating compute buffers: report the steady state after it.
Console.WriteLine(FormattableString.Invariant(
    $"{task}: {parameters / 1e6:F2}M parameters ({trainable / 1e6:F2}M trained), {sequences} × {length} tokens per step, {steps} steps on {deviceName} ({threads} threads): {progress.SteadyTokensPerSecond:F0} tokens/s ({progress.SteadyStepsPerSecond:F2} steps/s) after the first step; total {clock.Elapsed.TotalSeconds:F1} s"));
Directory.Delete(dir, recursive: true);

sealed class Progress(int steps) : IProgress<TrainingProgress>
{
    private readonly List<TrainingProgress> _steps = new();
    public double SteadyTokensPerSecond => _steps.Skip(1).Average(p => p.TokensPerSecond);
    public double SteadyStepsPerSecond => _steps.Skip(1).Average(p => p.StepsPerSecond);

    public void Report(TrainingProgress value)
    {
        _steps.Add(value);
        Console.WriteLine(FormattableString.Invariant($"step {value.Step}/{steps}: loss {value.Loss:F4}, {value.TokensPerSecond:F0} tokens/s"));
    }
}
