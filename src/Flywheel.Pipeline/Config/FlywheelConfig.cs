using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Flywheel.Training;

namespace Flywheel.Pipeline.Config;

/// <summary>
/// A flywheel run's configuration (flywheel.json, pipelines/*.json). Relative paths are relative to the config file.
/// Property names appear in JSON in snake_case; flywheel.schema.json describes the same for editors.
/// </summary>
public sealed record FlywheelConfig
{
    [Description("The run's name: its folder is runs/<name> unless --run-dir says otherwise.")]
    public string Name { get; init; } = "run";

    [Description("Rounds to run (--rounds overrides).")]
    [Range(1, 1000)]
    public int Rounds { get; init; } = 6;

    [Description("Seeds every random choice (sampling, shuffles, splits, initialisation): the same seed and inputs give the same run.")]
    [Range(0d, double.MaxValue)]
    public ulong Seed { get; init; } = 1;

    [Description("auto, cpu or cuda (--device overrides); auto takes CUDA when it is built in and a GPU is present.")]
    public string Device { get; init; } = "auto";

    [Description("CPU threads; null: the cores free when the run starts.")]
    [Range(1, int.MaxValue)]
    public int? Threads { get; init; }

    [Description("The starting policy and its chat template.")]
    public PolicyConfig Policy { get; init; } = new();

    [Description("The prompts each round samples candidates for.")]
    public PromptsConfig Prompts { get; init; } = new();

    [Description("Held-out prompts with reference answers on which the starting and the final policy's pass@1 are measured; null: measured on prompts, which the rounds select from and so train on. Its system prompt defaults to the prompts' one.")]
    public PromptsConfig? Evaluation { get; init; }

    [Description("Where each round's preference pairs come from: datasets (path) or a verifier labelling the policy's own answers (annotator); at least one.")]
    public IReadOnlyList<PreferenceSourceConfig> Preferences { get; init; } = [];

    [Description("How each round's reward model is initialised and trained.")]
    public RewardModelConfig RewardModel { get; init; } = new();

    [Description("How candidates are sampled from the policy.")]
    public SamplingConfig Sampling { get; init; } = new();

    [Description("Which scored candidates are kept.")]
    public SelectionConfig Selection { get; init; } = new();

    [Description("Fine-tuning the policy on the kept rows.")]
    public SftConfig Sft { get; init; } = new();

    [Description("Timeouts and retries of model-backend calls and file operations; not part of the run's identity (changing them continues the run).")]
    public ResilienceConfig Resilience { get; init; } = new();

    [Description("A verifier for the prompts' reference answers (gsm8k, exact), for pass rates and annotation; null: none.")]
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
    [Description("The starting policy GGUF (required).")]
    public string Model { get; init; } = "";

    [Description("A built-in chat template name (chatml, llama3, …); null: the model's own.")]
    public string? ChatTemplate { get; init; }
}

public sealed record PromptsConfig
{
    [Description("Prompts to sample K candidates for, each round (JSONL, .jsonl.gz or Parquet; required).")]
    public string Path { get; init; } = "";

    [Description("Use only the first N prompts; null: all.")]
    [Range(1, int.MaxValue)]
    public int? Limit { get; init; }

    [Description("Prepended to every prompt as a system message, unless the prompt starts with one; null: none.")]
    public string? SystemPrompt { get; init; }
}

public sealed record PreferenceSourceConfig
{
    [Description("A static dataset of pairs (JSONL, .jsonl.gz, Parquet); null when annotator is set.")]
    public string? Path { get; init; }

    [Description("Rounds this source feeds (1-based); empty: every round.")]
    public IReadOnlyList<int> Rounds { get; init; } = [];

    [Description("Pairs labelled by a verifier on the current policy's candidates for these prompts; null when path is set.")]
    public AnnotatorConfig? Annotator { get; init; }

    [Description("Use at most this many pairs of the source per round; null: all.")]
    [Range(1, int.MaxValue)]
    public int? Limit { get; init; }
}

public sealed record AnnotatorConfig
{
    [Description("The verifier that labels candidates (gsm8k, exact).")]
    public string Verifier { get; init; } = "exact";

    [Description("Prompts to sample and label (kept apart from the prompts the reward model then selects on; required).")]
    public string Prompts { get; init; } = "";

    [Description("Use only the first N annotation prompts; null: all.")]
    [Range(1, int.MaxValue)]
    public int? Limit { get; init; }

    [Description("Candidates sampled per annotation prompt.")]
    [Range(2, int.MaxValue)]
    public int K { get; init; } = 8;

    [Description("Pairs made per prompt from its correct × incorrect candidates.")]
    [Range(1, int.MaxValue)]
    public int PairsPerPrompt { get; init; } = 2;

    [Description("When none of a prompt's candidates is correct, pair its reference answer (the prompt row's answer, e.g. GSM8K's worked solution, when it passes the verifier itself) as chosen against the wrong ones — STaR's rationalization — so that a weak policy still yields pairs.")]
    public bool ReferenceWhenNoneCorrect { get; init; }
}

public sealed record RewardModelConfig
{
    [Description("\"policy\" (the round's policy, as Llama 3 and InstructGPT do) or a GGUF path.")]
    public string Init { get; init; } = "policy";

    [Description("Passes over the round's training pairs.")]
    [Range(1, int.MaxValue)]
    public int Epochs { get; init; } = 2;

    [Description("AdamW's peak learning rate.")]
    [Range(0d, 1d, MinimumIsExclusive = true, MaximumIsExclusive = true)]
    public double LearningRate { get; init; } = 1e-4;

    [Description("AdamW's decoupled weight decay.")]
    [Range(0d, double.MaxValue)]
    public double WeightDecay { get; init; }

    [Description("Pairs per optimizer step.")]
    [Range(1, int.MaxValue)]
    public int BatchPairs { get; init; } = 16;

    [Description("Tokens per sequence (prompt and reply) beyond which it is truncated.")]
    [Range(8, int.MaxValue)]
    public int MaxLength { get; init; } = 256;

    [Description("Fraction of pairs held out for evaluation.")]
    [Range(0d, 1d, MinimumIsExclusive = true, MaximumIsExclusive = true)]
    public double EvalFraction { get; init; } = 0.1;

    [Description("all, head, last:N (the last N blocks, the final norm and the head), or lora (adapters as reward_model.lora says, and the head).")]
    public string Train { get; init; } = "all";

    [Description("LoRA's rank, alpha, dropout and target projections, used when train is lora.")]
    public LoraOptions Lora { get; init; } = new();

    [Description("A token (id or text, e.g. \"<|reserved_special_token_0|>\") appended to every sequence for the head to read; null: the last token.")]
    public string? RewardToken { get; init; }

    [Description("bradley_terry or focal.")]
    public string Loss { get; init; } = "bradley_terry";

    [Description("Weight of a penalty on (chosen reward + rejected reward)², as TRL's center_rewards_coefficient, keeping rewards centred on 0; 0: none.")]
    [Range(0d, double.MaxValue)]
    public double CenterRewardsCoefficient { get; init; }

    [Description("Training steps between checkpoints: a killed run loses at most these.")]
    [Range(1, int.MaxValue)]
    public int CheckpointEverySteps { get; init; } = 25;
}

public sealed record SamplingConfig
{
    [Description("Candidates sampled per prompt.")]
    [Range(1, int.MaxValue)]
    public int K { get; init; } = 8;

    [Description("Sampling temperature; 0: greedy.")]
    [Range(0d, double.MaxValue)]
    public float Temperature { get; init; } = 0.8f;

    [Description("Sample among the K most likely tokens; 0: all.")]
    [Range(0, int.MaxValue)]
    public int TopK { get; init; } = 40;

    [Description("Nucleus sampling: the smallest set of tokens whose probability reaches P; 1: all.")]
    [Range(0d, 1d, MinimumIsExclusive = true)]
    public float TopP { get; init; } = 0.95f;

    [Description("Drop tokens less likely than min_p × the most likely one's probability; 0: none.")]
    [Range(0d, 1d, MaximumIsExclusive = true)]
    public float MinP { get; init; } = 0.05f;

    [Description("Tokens generated per candidate at most.")]
    [Range(1, int.MaxValue)]
    public int MaxNewTokens { get; init; } = 128;

    [Description("Strings that end a candidate where they appear; the text is cut before the stop string.")]
    public IReadOnlyList<string> Stop { get; init; } = [];

    [Description("Sequences decoded together (at least k).")]
    [Range(1, 256)]
    public int Sequences { get; init; } = 64;

    [Description("Prompts per part file: a crash loses at most the parts in flight.")]
    [Range(1, int.MaxValue)]
    public int PartSize { get; init; } = 64;

    [Description("Memory (GiB) the sampler's KV cache may take: sequences × (longest prompt + max_new_tokens) × the model's KV per token, checked before round 1; null: half the machine's memory.")]
    [Range(0d, double.MaxValue, MinimumIsExclusive = true)]
    public double? KvMemoryGib { get; init; }

    [Description("Where the selection prompts' candidates are sampled: local (llama.cpp in process) or openai (the OpenAI-compatible inference servers in endpoints: vLLM, SGLang, TGI, llama-server).")]
    public string Backend { get; init; } = "local";

    [Description("The servers backend openai samples from; prompts go to the one with the least outstanding work.")]
    public IReadOnlyList<EndpointConfig> Endpoints { get; init; } = [];

    [Description("completions: Flywheel applies the policy's chat template and sends the prompt's token ids to /completions; chat: the server applies its own template (/chat/completions).")]
    public string Route { get; init; } = "completions";

    [Description("Seconds one request (a prompt's candidates) may take on an endpoint before it is abandoned and retried.")]
    [Range(0.01d, 86400d, MinimumIsExclusive = true, MaximumIsExclusive = true)]
    public double RequestTimeoutSeconds { get; init; } = 600;

    /// <summary>The sampler chain these settings ask for, as both samplers (in process and remote) take it.</summary>
    internal Llama.Sampling.SamplingOptions ToOptions() => new()
    {
        Temperature = Temperature, TopK = TopK, TopP = TopP, MinP = MinP, MaxNewTokens = MaxNewTokens, StopStrings = Stop,
    };
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
    [Range(1, int.MaxValue)]
    public int MaxConcurrency { get; init; } = 8;

    [Description("Most candidates one request asks for (the request's n); a prompt's k candidates take several requests when k is larger. null: all k in one.")]
    [Range(1, int.MaxValue)]
    public int? MaxN { get; init; }
}

public sealed record SelectionConfig
{
    [Description("Candidates kept per prompt, best reward first (at most sampling.k).")]
    [Range(1, int.MaxValue)]
    public int TopN { get; init; } = 1;

    [Description("Keep only candidates whose reward is at least this; null: no floor.")]
    public double? MinReward { get; init; }

    [Description("Drop a prompt's candidates whose completion text repeats a better-ranked one.")]
    public bool Dedupe { get; init; } = true;

    [Description("Llama 3's filter: keep only candidates in the top quartile of all of the round's rewards.")]
    public bool TopQuartile { get; init; }
}

public sealed record SftConfig
{
    [Description("Train the policy on the round's kept rows, giving the next round's policy.")]
    public bool Enabled { get; init; } = true;

    [Description("Passes over the round's kept rows.")]
    [Range(1, int.MaxValue)]
    public int Epochs { get; init; } = 1;

    [Description("AdamW's peak learning rate.")]
    [Range(0d, 1d, MinimumIsExclusive = true, MaximumIsExclusive = true)]
    public double LearningRate { get; init; } = 1e-4;

    [Description("all, or lora (adapters as sft.lora says, merged into the exported policy).")]
    public string Train { get; init; } = "all";

    [Description("LoRA's rank, alpha, dropout and target projections, used when train is lora.")]
    public LoraOptions Lora { get; init; } = new();

    [Description("Sequences per optimizer step.")]
    [Range(1, int.MaxValue)]
    public int BatchSequences { get; init; } = 16;

    [Description("Tokens per sequence (prompt and reply) beyond which it is truncated.")]
    [Range(8, int.MaxValue)]
    public int MaxLength { get; init; } = 256;

    [Description("Training steps between checkpoints: a killed run loses at most these.")]
    [Range(1, int.MaxValue)]
    public int CheckpointEverySteps { get; init; } = 25;
}
