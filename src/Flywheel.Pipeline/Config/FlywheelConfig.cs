using System.ComponentModel;
using Flywheel.Training;
using System.Text.Json.Serialization;

namespace Flywheel.Pipeline.Config;

/// <summary>
/// A flywheel run's configuration (flywheel.json, pipelines/*.json). Relative paths are relative to the config file.
/// Property names appear in JSON in snake_case; flywheel.schema.json describes the same for editors.
/// </summary>
public sealed record FlywheelConfig
{
    public string Name { get; init; } = "run";
    public int Rounds { get; init; } = 6;
    public ulong Seed { get; init; } = 1;

    /// <summary>auto, cpu or cuda.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>CPU threads; default: the cores free when the run starts.</summary>
    public int? Threads { get; init; }

    public PolicyConfig Policy { get; init; } = new();
    public PromptsConfig Prompts { get; init; } = new();

    /// <summary>
    /// Held-out prompts with reference answers on which the starting and the final policy's pass@1 are measured;
    /// null: measured on <see cref="Prompts"/>, which the rounds select from and so train on. Its system prompt defaults
    /// to the prompts' one.
    /// </summary>
    public PromptsConfig? Evaluation { get; init; }

    public IReadOnlyList<PreferenceSourceConfig> Preferences { get; init; } = [];
    public RewardModelConfig RewardModel { get; init; } = new();
    public SamplingConfig Sampling { get; init; } = new();
    public SelectionConfig Selection { get; init; } = new();
    public SftConfig Sft { get; init; } = new();

    /// <summary>A verifier for the prompts' reference answers (gsm8k, exact), for pass rates and annotation; null: none.</summary>
    public string? Verifier { get; init; }

    /// <summary>
    /// The folder the config's relative paths are relative to (the config file's); null: the current folder. Not part of
    /// the JSON, so a config hashes the same wherever its clone lies.
    /// </summary>
    [JsonIgnore]
    public string? BaseDirectory { get; init; }
}

public sealed record PolicyConfig
{
    /// <summary>The starting policy GGUF.</summary>
    public string Model { get; init; } = "";

    /// <summary>A built-in chat template name (chatml, llama3, …); default: the model's own.</summary>
    public string? ChatTemplate { get; init; }
}

public sealed record PromptsConfig
{
    /// <summary>Prompts to sample K candidates for, each round (JSONL, .jsonl.gz or Parquet).</summary>
    public string Path { get; init; } = "";

    /// <summary>Use only the first N prompts.</summary>
    public int? Limit { get; init; }

    public string? SystemPrompt { get; init; }
}

public sealed record PreferenceSourceConfig
{
    /// <summary>A static dataset of pairs (JSONL, .jsonl.gz, Parquet); or null when <see cref="Annotator"/> is set.</summary>
    public string? Path { get; init; }

    /// <summary>Rounds this source feeds (1-based); empty: every round.</summary>
    public IReadOnlyList<int> Rounds { get; init; } = [];

    /// <summary>Pairs labelled by a verifier on the current policy's candidates for these prompts.</summary>
    public AnnotatorConfig? Annotator { get; init; }

    /// <summary>Use at most this many pairs of the source per round.</summary>
    public int? Limit { get; init; }
}

public sealed record AnnotatorConfig
{
    /// <summary>The verifier that labels candidates (gsm8k, exact).</summary>
    public string Verifier { get; init; } = "exact";

    /// <summary>Prompts to sample and label (kept apart from the prompts the reward model then selects on).</summary>
    public string Prompts { get; init; } = "";

    public int? Limit { get; init; }

    /// <summary>Candidates sampled per annotation prompt.</summary>
    public int K { get; init; } = 8;

    /// <summary>Pairs made per prompt from its correct × incorrect candidates.</summary>
    public int PairsPerPrompt { get; init; } = 2;

    /// <summary>
    /// When none of a prompt's candidates is correct, pair its reference answer (the prompt row's <c>answer</c>, e.g.
    /// GSM8K's worked solution, when it passes the verifier itself) as chosen against the wrong ones — STaR's
    /// rationalization — so that a weak policy still yields pairs.
    /// </summary>
    public bool ReferenceWhenNoneCorrect { get; init; }
}

public sealed record RewardModelConfig
{
    /// <summary>"policy" (the round's policy, as Llama 3 and InstructGPT do) or a GGUF path.</summary>
    public string Init { get; init; } = "policy";

    public int Epochs { get; init; } = 2;
    public double LearningRate { get; init; } = 1e-4;
    public double WeightDecay { get; init; }
    public int BatchPairs { get; init; } = 16;
    public int MaxLength { get; init; } = 256;

    /// <summary>Fraction of pairs held out for evaluation.</summary>
    public double EvalFraction { get; init; } = 0.1;

    /// <summary>all, head, last:N (the last N blocks and the head), or lora (adapters as $.reward_model.lora says, and the head).</summary>
    public string Train { get; init; } = "all";

    /// <summary>LoRA's rank, alpha, dropout and target projections, used when train is lora.</summary>
    public LoraOptions Lora { get; init; } = new();

    /// <summary>A token (id or text, e.g. "&lt;|reserved_special_token_0|&gt;") appended to every sequence for the head to read; null: the last token.</summary>
    public string? RewardToken { get; init; }

    /// <summary>bradley_terry or focal.</summary>
    public string Loss { get; init; } = "bradley_terry";

    public double CenterRewardsCoefficient { get; init; }

    /// <summary>Training steps between checkpoints: a killed run loses at most these.</summary>
    public int CheckpointEverySteps { get; init; } = 25;
}

public sealed record SamplingConfig
{
    public int K { get; init; } = 8;
    public float Temperature { get; init; } = 0.8f;
    public int TopK { get; init; } = 40;
    public float TopP { get; init; } = 0.95f;
    public float MinP { get; init; } = 0.05f;
    public int MaxNewTokens { get; init; } = 128;
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Sequences decoded together.</summary>
    public int Sequences { get; init; } = 64;

    /// <summary>Prompts per part file: a crash loses at most the parts in flight.</summary>
    public int PartSize { get; init; } = 64;

    /// <summary>
    /// Memory (GiB) the sampler's KV cache may take: sequences × (longest prompt + max_new_tokens) × the model's KV per
    /// token, checked before round 1; null: half the machine's memory.
    /// </summary>
    public double? KvMemoryGib { get; init; }

    [Description("Where the selection prompts' candidates are sampled: local (llama.cpp in process) or openai (the OpenAI-compatible inference servers in endpoints: vLLM, SGLang, TGI, llama-server).")]
    public string Backend { get; init; } = "local";

    [Description("The servers backend openai samples from; prompts go to the one with the least outstanding work.")]
    public IReadOnlyList<EndpointConfig> Endpoints { get; init; } = [];

    [Description("completions: Flywheel applies the policy's chat template and sends the prompt's token ids to /completions; chat: the server applies its own template (/chat/completions).")]
    public string Route { get; init; } = "completions";

    [Description("Seconds one request (a prompt's candidates) may take on an endpoint before it is abandoned and retried.")]
    public double RequestTimeoutSeconds { get; init; } = 600;
}

/// <summary>One OpenAI-compatible inference server.</summary>
public sealed record EndpointConfig
{
    [Description("The server's OpenAI base URL, /v1 included, as OpenAI clients take it: http://10.0.0.5:8000/v1.")]
    public string Url { get; init; } = "";

    [Description("The model name the server serves the policy under (one of its /models ids).")]
    public string Model { get; init; } = "";

    [Description("The environment variable holding the server's API key (sent as a bearer token); null: none. Never the key itself.")]
    public string? ApiKeyEnv { get; init; }

    [Description("Requests this server has in flight at once, each asking for a prompt's candidates: about its parallel slots divided by k.")]
    public int MaxConcurrency { get; init; } = 8;

    [Description("Most candidates one request asks for (the request's n); a prompt's k candidates take several requests when k is larger. null: all k in one.")]
    public int? MaxN { get; init; }
}

public sealed record SelectionConfig
{
    /// <summary>Candidates kept per prompt, best reward first.</summary>
    public int TopN { get; init; } = 1;

    /// <summary>Keep only candidates whose reward is at least this.</summary>
    public double? MinReward { get; init; }

    /// <summary>Drop a prompt's candidates whose completion text repeats a better-ranked one.</summary>
    public bool Dedupe { get; init; } = true;

    /// <summary>Llama 3's filter: keep only candidates in the top quartile of all of the round's rewards.</summary>
    public bool TopQuartile { get; init; }
}

public sealed record SftConfig
{
    /// <summary>Train the policy on the round's kept rows, giving the next round's policy.</summary>
    public bool Enabled { get; init; } = true;

    public int Epochs { get; init; } = 1;
    public double LearningRate { get; init; } = 1e-4;

    /// <summary>all, or lora (adapters as $.sft.lora says, merged into the exported policy).</summary>
    public string Train { get; init; } = "all";

    /// <summary>LoRA's rank, alpha, dropout and target projections, used when train is lora.</summary>
    public LoraOptions Lora { get; init; } = new();

    public int BatchSequences { get; init; } = 16;
    public int MaxLength { get; init; } = 256;

    /// <summary>Training steps between checkpoints: a killed run loses at most these.</summary>
    public int CheckpointEverySteps { get; init; } = 25;
}
