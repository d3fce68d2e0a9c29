using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Llama.Gguf;
using Flywheel.Training.Data;
using Flywheel.Training.Optimization;
using Flywheel.Training.RewardModel;
using Flywheel.Training.Sft;

namespace Flywheel.Training.Tests;

public class DataAndOptionsTests
{
    private static readonly Lazy<string> Model = new(() => TinyModels.Create("data.gguf", TinyModels.Small, seed: 1));

    [Fact]
    public void Conversations_get_BOS_once_and_the_prompt_is_a_prefix_shared_by_both_replies()
    {
        using var model = LlamaModel.Load(Model.Value, new ModelOptions { VocabularyOnly = true });
        var encoder = new ConversationEncoder(model.Vocabulary, ChatTemplate.FromModel(model), maxLength: 128);
        var e = encoder.Encode([new ChatMessage("user", "hi")], "yes", "no!");
        Assert.False(e.Truncated);
        Assert.Equal(ByteLevelVocabulary.BosId, e.Prompt[0]);
        Assert.Single(e.Sequence(0), t => t == ByteLevelVocabulary.BosId);
        Assert.Equal("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", model.Vocabulary.Detokenize(e.Prompt, special: true)[ByteLevelVocabulary.BeginOfText.Length..]);
        Assert.Equal("yes<|im_end|>\n", model.Vocabulary.Detokenize(e.Responses[0], special: true));
        Assert.Equal("no!<|im_end|>\n", model.Vocabulary.Detokenize(e.Responses[1], special: true));
    }

    [Fact]
    public void Too_long_examples_lose_prompt_tokens_from_the_left_keeping_BOS_then_reply_tokens_from_the_right()
    {
        const int bos = 1;
        var fits = ConversationEncoder.Fit([bos, 10, 11, 12], [[20, 21], [30]], maxLength: 6, bos);
        Assert.False(fits.Truncated);

        var cut = ConversationEncoder.Fit([bos, 10, 11, 12, 13], [[20, 21], [30]], maxLength: 5, bos);
        Assert.True(cut.Truncated);
        Assert.Equal([bos, 12, 13], cut.Prompt);
        Assert.Equal([20, 21], cut.Responses[0]);
        Assert.Equal([30], cut.Responses[1]);

        var replyTooLong = ConversationEncoder.Fit([bos, 10], [[20, 21, 22, 23, 24]], maxLength: 4, bos);
        Assert.Equal([bos], replyTooLong.Prompt);
        Assert.Equal([20, 21, 22], replyTooLong.Responses[0]);
    }

    [Fact]
    public void Truncated_pairs_are_counted_not_dropped()
    {
        var options = new RewardModelOptions { Device = ComputeDevice.Cpu, Threads = 1, MaxLength = 56, TokensPerBatch = 256, Epochs = 1 };
        using var trainer = new RewardModelTrainer(Model.Value, options);
        var pairs = SyntheticData.GoodBadPairs(6, seed: 1);
        pairs.Add(new RewardPair([new ChatMessage("user", new string('q', 100))], "good", "bad"));
        var result = trainer.Train(pairs);
        Assert.Equal(1, result.TruncatedPairs);
        Assert.Equal(7, trainer.Evaluate(pairs).Pairs);
    }

    [Fact]
    public void Batches_respect_the_token_budget_and_cover_every_example_once_per_epoch()
    {
        var random = new SplitMix64(3);
        var lengths = Enumerable.Range(0, 100).Select(i => 5 + i * 37 % 50).ToArray();
        var batches = BatchPlanner.Epoch(lengths, 400, random);
        Assert.Equal(Enumerable.Range(0, 100), batches.SelectMany(b => b).Order());
        Assert.All(batches, b => Assert.True(b.Sum(i => lengths[i]) <= 400));
        // Packed without padding, batches are full: all but the last of each window's run hold over 85% of the budget.
        Assert.True(batches.Count(b => b.Sum(i => lengths[i]) < 340) <= 1, string.Join(", ", batches.Select(b => b.Sum(i => lengths[i]))));
        Assert.NotEqual(batches.SelectMany(b => b), BatchPlanner.Epoch(lengths, 400, random).SelectMany(b => b));
    }

    [Fact]
    public void A_packed_batch_keeps_every_token_once_and_each_sequence_to_itself()
    {
        int[][] sequences = [[1, 2, 3, 4, 5], [6, 7], [8, 9, 10], [11]];
        var batch = new PackedBatch(sequences);
        Assert.Equal(sequences.SelectMany(s => s).Select(t => (long)t), batch.Tokens);
        Assert.Equal([0L, 1, 2, 3, 4, 0, 1, 0, 1, 2, 0], batch.Positions);
        Assert.Equal(5, batch.RowLength);
        // First fit, longest first, into rows of 5: [5], [3 + 2], [1].
        Assert.Equal(3, batch.Rows);
        Assert.Equal(batch.Slots.Length, batch.Slots.Distinct().Count());
        for (int s = 0; s < sequences.Length; s++)
            for (int t = 0; t < sequences[s].Length; t++)
                Assert.Equal(s, batch.Segments[batch.Slots[batch.Offsets[s] + t]]);
        Assert.Equal(4, batch.Segments.Count(x => x < 0));
        Assert.Equal(9, batch.Last(2));
    }

    [Fact]
    public void The_learning_rate_warms_up_linearly_then_decays_to_its_minimum()
    {
        var o = new TrainingOptions { LearningRate = 1, WarmupSteps = 4, MinLearningRateRatio = 0.1 };
        Assert.Equal(0.25, LearningRate.At(o, 0, 20), 12);
        Assert.Equal(1, LearningRate.At(o, 3, 20), 12);
        Assert.Equal(1, LearningRate.At(o, 4, 20), 12);
        Assert.Equal(0.1, LearningRate.At(o, 19, 20), 12);
        // 15 steps: 4 of warmup, then 10 intervals of decay from step 4 to step 14.
        Assert.Equal(0.82, LearningRate.At(o with { Schedule = LearningRateSchedule.Linear }, 6, 15), 12);
        Assert.Equal(0.1 + 0.45 * (1 + Math.Cos(0.2 * Math.PI)), LearningRate.At(o, 6, 15), 12);
        Assert.Equal(0.1, LearningRate.At(o, 14, 15), 12);
        Assert.Equal(1, LearningRate.At(o with { Schedule = LearningRateSchedule.Constant }, 19, 20), 12);
    }

    private static string Rewrite(string name, Action<GgufWriter, GgufTensorInfo, GgufFile> addTensor)
    {
        var source = GgufFile.Open(Model.Value);
        var writer = new GgufWriter();
        foreach (var (key, value) in source.Metadata) writer.Set(key, value);
        foreach (var t in source.Tensors) addTensor(writer, t, source);
        string path = TinyModels.TempPath(name);
        writer.WriteTo(path);
        return path;
    }

    [Fact]
    public void Quantized_and_unsupported_models_are_refused_with_a_clear_message()
    {
        string quantized = Rewrite("q8.gguf", (w, t, f) =>
        {
            if (t.Name == "blk.0.ffn_up.weight") w.AddTensorBytes(t.Name, t.Shape, GgmlType.Q8_0, new byte[t.ElementCount / 32 * 34]);
            else w.AddTensorBytes(t.Name, t.Shape, t.Type, f.ReadTensorBytes(t));
        });
        var e = Assert.Throws<LlamaException>(() => new SftTrainer(quantized, new SftOptions { Device = ComputeDevice.Cpu }));
        Assert.Contains("quantized models cannot be trained", e.Message);

        string withBias = Rewrite("bias.gguf", (w, t, f) =>
        {
            w.AddTensorBytes(t.Name, t.Shape, t.Type, f.ReadTensorBytes(t));
            if (t.Name == "blk.0.attn_output.weight") w.AddTensor("blk.0.attn_output.bias", [t.Shape[1]], new float[t.Shape[1]]);
        });
        e = Assert.Throws<LlamaException>(() => new RewardModelTrainer(withBias, new RewardModelOptions { Device = ComputeDevice.Cpu }));
        Assert.Contains("blk.0.attn_output.bias", e.Message);
    }

    [Fact]
    public void Bad_options_are_refused_before_any_native_call()
    {
        Assert.Throws<ArgumentException>(() => new RewardModelTrainer(Model.Value, new RewardModelOptions { MaxLength = 512, TokensPerBatch = 600 }));
        Assert.Throws<ArgumentException>(() => new SftTrainer(Model.Value, new SftOptions { LearningRate = -1 }));
        Assert.Throws<ArgumentException>(() => new SftTrainer(Model.Value, new SftOptions { MaxLength = 1024, TokensPerBatch = 4096 }));
        Assert.Throws<ArgumentException>(() => new SftTrainer(Model.Value, new SftOptions { Layers = TrainableLayers.Last(5) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => TrainableLayers.Last(-1));
        Assert.Throws<ArgumentException>(() => TrainableLayers.WithLora(new LoraOptions { Rank = 0 }));
        Assert.Throws<ArgumentException>(() => TrainableLayers.WithLora(new LoraOptions { Dropout = 1 }));
        Assert.Throws<ArgumentException>(() => TrainableLayers.WithLora(new LoraOptions { Targets = [] }));
        Assert.Throws<ArgumentException>(() => new RewardModelTrainer(Model.Value, new RewardModelOptions { RewardToken = "two tokens" }));
    }

    [Fact]
    public void Which_tensors_train_follows_the_layer_selection()
    {
        var options = new RewardModelOptions { Device = ComputeDevice.Cpu, Threads = 1, MaxLength = 64, TokensPerBatch = 256 };
        using (var headOnly = new RewardModelTrainer(Model.Value, options with { Layers = TrainableLayers.HeadOnly }))
            Assert.Equal(TinyModels.Small.EmbeddingLength + 1, headOnly.TrainableParameters);
        using var last = new RewardModelTrainer(Model.Value, options with { Layers = TrainableLayers.Last(1) });
        var names = last.Session.Trainable.Select(p => p.Name).ToList();
        Assert.Contains("blk.1.attn_q.weight", names);
        Assert.Contains("output_norm.weight", names);
        Assert.DoesNotContain("blk.0.attn_q.weight", names);
        Assert.DoesNotContain("token_embd.weight", names);
    }

    [Theory]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    public void Half_precision_weights_load_into_f32_master_weights(GgmlType type)
    {
        string path = TinyModels.Create($"{type}.gguf", TinyModels.Small, seed: 2, weightType: type);
        var file = GgufFile.Open(path);
        using var trainer = new SftTrainer(path, new SftOptions { Device = ComputeDevice.Cpu, Threads = 1, MaxLength = 64 });
        Assert.Equal(file.Tensors.Count, trainer.Session.Model.Weights.Count);
        foreach (var (name, p) in trainer.Session.Model.Weights)
        {
            Assert.Equal(p.dim() == 1 ? GgmlType.F32 : type, file.GetTensor(name).Type);
            Assert.Equal(TorchSharp.torch.ScalarType.Float32, p.dtype);
            Assert.Equal(file.ReadTensorFloats(file.GetTensor(name)), GradientCheckTests.Values(p));
        }
    }
}
