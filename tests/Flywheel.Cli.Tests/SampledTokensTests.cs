using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Parquet;
using Flywheel.Pipeline.Stages;

namespace Flywheel.Cli.Tests;

/// <summary>
/// Sampled tokens travel with their candidate: candidates.parquet keeps them, scoring and SFT use them as they are,
/// and a prompt is formatted by the chat template once for sampling and once for SFT, not again per candidate.
/// </summary>
[Collection(TemplateCounting.Name)]
public class SampledTokensTests
{
    [Fact]
    public async Task Candidates_keep_their_sampled_tokens_and_sft_rows_carry_the_same_ones()
    {
        var setup = new TinyRun(prompts: 12, rounds: 1);
        string dir = setup.RunDir();
        long before = ChatTemplate.Applications;
        var run = await CliRunner.RunAsync("run", "--config", setup.ConfigPath, "--run-dir", dir, "--quiet");
        long applications = ChatTemplate.Applications - before;
        Assert.True(run.ExitCode == 0, run.Error);

        var options = new ParquetSerializerOptions { ColumnNaming = ColumnNaming.SnakeCase };
        var candidates = new List<CandidateRow>();
        await foreach (var row in ParquetSerializer.DeserializeAsync<CandidateRow>(Path.Combine(dir, "round-001", "candidates.parquet"), options)) candidates.Add(row);
        var sft = new List<SftRow>();
        await foreach (var row in ParquetSerializer.DeserializeAsync<SftRow>(Path.Combine(dir, "round-001", "sft.parquet"), options)) sft.Add(row);
        Assert.Equal(48, candidates.Count);

        using var policy = LlamaModel.Load(Path.Combine(setup.Directory, "policy.gguf"), new ModelOptions { VocabularyOnly = true });
        foreach (var c in candidates)
        {
            Assert.Equal(c.Tokens, c.TokenIds.Count);
            // The text is the tokens' text (a stop string would cut both; this config has none).
            Assert.Equal(c.Completion, policy.Vocabulary.Detokenize([.. c.TokenIds]));
        }
        var kept = candidates.Where(c => c.Kept).ToDictionary(c => (c.PromptId, c.Completion, c.Reward));
        Assert.Equal(24, sft.Count);
        foreach (var s in sft)
        {
            Assert.Equal(kept[(s.PromptId, s.Completion, s.Reward)].TokenIds, s.CompletionTokenIds);
            Assert.Equal(kept[(s.PromptId, s.Completion, s.Reward)].PromptTokenIds, s.PromptTokenIds);
        }
        var template = ChatTemplate.FromModel(policy);
        foreach (var c in candidates)
        {
            var messages = c.PromptMessages.Select(m => new ChatMessage(m.Role, m.Content)).ToList();
            Assert.Equal(policy.Vocabulary.Tokenize(template.Apply(messages), addSpecial: true, parseSpecial: true), c.PromptTokenIds);
        }

        // DuckDB sees a list<int32> column.
        var types = ParquetJudge.DuckDb(Path.Combine(dir, "round-001", "candidates.parquet"), "typeof(token_ids)");
        Assert.Equal("INTEGER[]", types[0][0]);

        // Per selection prompt: once by the checks before round 1 (which also count them), once as the round reads and
        // samples it, and once for each of the two pass@1 measurements (starting and final policy); the reward model's
        // 40 static pairs take three renderings each (prompt, chosen, rejected); thirteen more check templates before
        // round 1 and when they are loaded, and find their end-of-turn. Scoring and SFT render nothing: they took two
        // renderings per candidate (96 here) and two per kept row (48); the sampler rendered each prompt again after its
        // check, and the round counted its prompts by rendering them once more.
        const int prompts = 12, pairs = 40;
        Assert.InRange(applications, 0, prompts * (1 + 1 + 2) + pairs * 3 + 13);
    }

    [Fact]
    public async Task The_scorer_and_the_sft_trainer_use_the_sampled_tokens_followed_by_the_templates_end_of_turn()
    {
        var setup = new TinyRun(prompts: 6, rounds: 1);
        string dir = setup.RunDir();
        var run = await CliRunner.RunAsync("run", "--config", setup.ConfigPath, "--run-dir", dir, "--quiet");
        Assert.True(run.ExitCode == 0, run.Error);
        var options = new ParquetSerializerOptions { ColumnNaming = ColumnNaming.SnakeCase };
        var sft = new List<SftRow>();
        await foreach (var row in ParquetSerializer.DeserializeAsync<SftRow>(Path.Combine(dir, "round-001", "sft.parquet"), options)) sft.Add(row);

        string policyPath = Path.Combine(setup.Directory, "policy.gguf");
        using var policy = LlamaModel.Load(policyPath, new ModelOptions { VocabularyOnly = true });
        var template = ChatTemplate.FromModel(policy);
        int[] endOfTurn = policy.Vocabulary.Tokenize("<|im_end|>\n", parseSpecial: true);
        using var trainer = new Flywheel.Training.Sft.SftTrainer(policyPath, new Flywheel.Training.Sft.SftOptions { Device = ComputeDevice.Cpu, Threads = 1, MaxLength = 32 });
        foreach (var row in sft)
        {
            var prompt = row.Messages.Take(row.Messages.Count - 1).Select(m => new ChatMessage(m.Role, m.Content)).ToList();
            int[] promptTokens = policy.Vocabulary.Tokenize(template.Apply(prompt), addSpecial: true, parseSpecial: true);
            var example = new Flywheel.Training.Sft.SftExample(prompt, row.Completion) { CompletionTokens = row.CompletionTokenIds };
            Assert.Equal([.. promptTokens, .. row.CompletionTokenIds, .. endOfTurn], trainer.TrainingTokens(example));
        }
    }
}

/// <summary>Tests that count chat-template renderings (a process-wide counter) run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TemplateCounting
{
    public const string Name = "template counting";
}
