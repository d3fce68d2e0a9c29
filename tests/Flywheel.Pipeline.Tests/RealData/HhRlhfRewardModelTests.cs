using System.Diagnostics;
using Flywheel.Llama.Gguf;
using Flywheel.Pipeline.Datasets;
using Flywheel.Pipeline.Tests.Datasets;
using Flywheel.Training;
using Flywheel.Training.RewardModel;
using Xunit.Abstractions;

namespace Flywheel.Pipeline.Tests.RealData;

/// <summary>
/// The real HH-RLHF pairs through the whole reward-model path: the gzipped JSONL, HH transcripts split into turns,
/// the chat template, truncation counted, training, held-out evaluation, export, and scoring through the exported model.
/// A tiny byte-level model is near chance on this data; the point is the real data path.
/// </summary>
public class HhRlhfRewardModelTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task The_2312_pairs_go_from_gzipped_jsonl_to_a_trained_exported_scoring_reward_model()
    {
        string path = TestFiles.Shared("hh-rlhf", "harmless-base-test.jsonl.gz");
        Skip.IfNot(File.Exists(path), TestFiles.MissingMessage(path));
        var reader = PreferenceDatasets.ReadAsync(path, new DatasetReadOptions { SkipBad = true });
        var pairs = await reader.ToListAsync();
        Assert.Equal(2312, reader.RowsRead);
        Assert.Equal(2303, pairs.Count);

        // 90/10, by position: the file's order is the data set's.
        int held = pairs.Count / 10;
        var train = pairs.Take(pairs.Count - held).Select(p => new RewardPair(p.Prompt, p.Chosen, p.Rejected, p.Margin)).ToList();
        var eval = pairs.Skip(pairs.Count - held).Select(p => new RewardPair(p.Prompt, p.Chosen, p.Rejected, p.Margin)).ToList();

        string dir = Path.GetDirectoryName(TestFiles.NewPath("x"))!;
        string backbone = Path.Combine(dir, "backbone.gguf");
        TinyLlama.Create(backbone, new TinyLlamaOptions
        {
            Seed = 2,
            Hyperparameters = new LlamaHyperparameters { EmbeddingLength = 32, Layers = 1, Heads = 2, KvHeads = 1, FeedForwardLength = 64, ContextLength = 256 },
        });
        var clock = Stopwatch.StartNew();
        using var trainer = new RewardModelTrainer(backbone, new RewardModelOptions
        {
            Epochs = 1, MaxLength = 128, TokensPerBatch = 16 * 256, LearningRate = 1e-3, Threads = 1, Seed = 1,
        });
        var result = trainer.Train(train, eval);
        output.WriteLine($"{train.Count} train / {eval.Count} held-out pairs, {result.TruncatedPairs} truncated to 128 tokens, {clock.Elapsed.TotalSeconds:F0}s; held-out accuracy {result.Evaluations[^1].Accuracy:P1}");

        // HH conversations are far longer than 128 byte-level tokens: most pairs are truncated, and counted, not dropped.
        Assert.InRange(result.TruncatedPairs, train.Count / 2, train.Count);
        Assert.Equal(eval.Count, result.Evaluations[^1].Pairs);
        Assert.InRange(result.Evaluations[^1].Accuracy, 0, 1);
        Assert.True(double.IsFinite(result.Losses[^1]));

        string exported = Path.Combine(dir, "rm.gguf");
        trainer.Export(exported);
        using var scorer = RewardScorer.Load(exported, new RewardScorerOptions { Threads = 1 });
        var queries = eval.Take(16).SelectMany(p => new[] { new RewardQuery(p.Prompt, p.Chosen), new RewardQuery(p.Prompt, p.Rejected) }).ToList();
        var fromEngine = scorer.Score(queries);
        var fromTrainer = trainer.Score(queries);
        double scale = fromTrainer.Max(Math.Abs) + 1e-6;
        for (int i = 0; i < queries.Count; i++) Assert.True(Math.Abs(fromEngine[i] - fromTrainer[i]) <= 1e-5 * scale, $"query {i}: {fromEngine[i]} vs {fromTrainer[i]}");
    }
}
