using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Flywheel.Llama.Gguf;
using Flywheel.Pipeline;
using Flywheel.Pipeline.Config;
using Flywheel.Pipeline.Runs;

// One flywheel round on a tiny model, to show (1) that sample, score and write overlap — the streaming section's wall
// time against the busy time of its slowest stage — and (2) that peak memory does not grow with the number of
// prompts. With no arguments it runs itself as a child process for each prompt count, so the figures of one table
// come from one run; `--prompts N` runs one round and prints its figures as JSON.
// `--sampler local|openai …`: one sampler's tokens/s (SamplerCompare.cs), for bench/openai-sampler-compare.sh.
if (args.Length > 0 && args[0] == "--sampler")
{
    await SamplerCompare.RunAsync(Enumerable.Range(0, args.Length / 2).ToDictionary(i => args[2 * i].TrimStart('-'), i => args[2 * i + 1]));
    return;
}
if (args is ["--prompts", var n])
{
    Console.WriteLine(JsonSerializer.Serialize(await Round(int.Parse(n, CultureInfo.InvariantCulture))));
    return;
}
var counts = args.Length > 0 ? args.Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray() : [1_000, 20_000];
Console.WriteLine("| prompts | candidates | sample busy | score busy | write busy | streaming wall | wall / slowest stage | peak RSS |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
foreach (int count in counts)
{
    var psi = new ProcessStartInfo("dotnet", [typeof(Program).Assembly.Location, "--prompts", $"{count}"]) { RedirectStandardOutput = true };
    using var child = Process.Start(psi)!;
    string line = child.StandardOutput.ReadToEnd().Trim().Split('\n')[^1];
    child.WaitForExit();
    var r = JsonSerializer.Deserialize<Figures>(line)!;
    double slowest = Math.Max(r.Sample, Math.Max(r.Score, r.Write));
    Console.WriteLine($"| {count:N0} | {r.Candidates:N0} | {r.Sample:F1} s | {r.Score:F1} s | {r.Write:F1} s | {r.Wall:F1} s | {r.Wall / slowest:F2} | {r.PeakMegabytes:N0} MB |");
}

static async Task<Figures> Round(int prompts)
{
    string dir = Directory.CreateTempSubdirectory("flywheel-pipeline-bench-").FullName;
    try
    {
        string policy = Path.Combine(dir, "policy.gguf");
        TinyLlama.Create(policy, new TinyLlamaOptions
        {
            Seed = 1,
            InitStd = 0.2f,
            Hyperparameters = new LlamaHyperparameters { EmbeddingLength = 64, Layers = 2, Heads = 4, KvHeads = 2, FeedForwardLength = 128, ContextLength = 256 },
        });
        var random = new Random(3);
        await File.WriteAllLinesAsync(Path.Combine(dir, "prompts.jsonl"), Enumerable.Range(0, prompts).Select(i =>
        {
            int a = random.Next(100), b = random.Next(100);
            return JsonSerializer.Serialize(new { id = $"p{i}", prompt = $"What is {a} + {b}?", answer = $"{a + b}" });
        }));
        await File.WriteAllLinesAsync(Path.Combine(dir, "pairs.jsonl"), Enumerable.Range(0, 64).Select(i =>
            JsonSerializer.Serialize(new { prompt = $"What is {i} + 1?", chosen = $"{i + 1}", rejected = $"{i + 2}" })));
        var config = new FlywheelConfig
        {
            Name = "bench",
            Rounds = 1,
            Device = "cpu",
            Policy = new PolicyConfig { Model = policy },
            Prompts = new PromptsConfig { Path = Path.Combine(dir, "prompts.jsonl") },
            Preferences = [new PreferenceSourceConfig { Path = Path.Combine(dir, "pairs.jsonl") }],
            RewardModel = new RewardModelConfig { Epochs = 1, MaxLength = 32, BatchPairs = 16, EvalFraction = 0.25 },
            Sampling = new SamplingConfig { K = 4, MaxNewTokens = 8, Sequences = 32, PartSize = 64 },
            Sft = new SftConfig { Enabled = false },
        };
        var store = RunStore.OpenOrCreate(Path.Combine(dir, "run"), config, 1, force: false);
        Figures? figures = null;
        var busy = new Regex(@"sample ([\d.]+)s, score ([\d.]+)s, write ([\d.]+)s busy in ([\d.]+)s");
        await FlywheelRunner.RunAsync(store, new RunOptions
        {
            Log = line =>
            {
                var m = busy.Match(line);
                if (m.Success)
                {
                    double D(int g) => double.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture);
                    figures = new Figures(0, D(1), D(2), D(3), D(4), 0);
                }
            },
        });
        return figures! with
        {
            Candidates = store.Manifest.Round(1).Metrics.Candidates ?? 0,
            PeakMegabytes = PeakResidentMegabytes(),
        };
    }
    finally
    {
        Directory.Delete(dir, recursive: true);
    }
}

// VmHWM: the most resident memory this process ever had.
static double PeakResidentMegabytes() =>
    File.ReadLines("/proc/self/status").Where(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
        .Select(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024).First();

internal sealed record Figures(long Candidates, double Sample, double Score, double Write, double Wall, double PeakMegabytes);
