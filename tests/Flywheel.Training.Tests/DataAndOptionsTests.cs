using System.Runtime.InteropServices;
using Flywheel.Llama;
using Flywheel.Llama.Chat;
using Flywheel.Llama.Gguf;
using Flywheel.Training.Native;
using Flywheel.Training.Data;
using Flywheel.Training.Graph;
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
        var batches = BatchPlanner.Epoch(lengths, 2, 400, random);
        Assert.Equal(Enumerable.Range(0, 100), batches.SelectMany(b => b).Order());
        Assert.All(batches, b => Assert.True(b.Length * 2 * b.Max(i => lengths[i]) <= 400));
        Assert.NotEqual(batches.SelectMany(b => b), BatchPlanner.Epoch(lengths, 2, 400, random).SelectMany(b => b));
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
        Assert.Throws<ArgumentException>(() => TokenBatch.Pad([[1, 2, 999]], 263));
    }

    [Fact]
    public void Which_tensors_train_follows_the_layer_selection()
    {
        var options = new RewardModelOptions { Device = ComputeDevice.Cpu, Threads = 1, MaxLength = 64, TokensPerBatch = 256 };
        using (var headOnly = new RewardModelTrainer(Model.Value, options with { Layers = TrainableLayers.HeadOnly }))
            Assert.Equal(TinyModels.Small.EmbeddingLength + 1, headOnly.TrainableParameters);
        using var last = new RewardModelTrainer(Model.Value, options with { Layers = TrainableLayers.Last(1) });
        var names = last.Session.Parameters.Trainable.Select(p => p.Name).ToList();
        Assert.Contains("blk.1.attn_q.weight", names);
        Assert.Contains("output_norm.weight", names);
        Assert.DoesNotContain("blk.0.attn_q.weight", names);
        Assert.DoesNotContain("token_embd.weight", names);
    }

    [Fact]
    public unsafe void Native_structs_match_this_ggml_release()
    {
        Assert.Equal(24, Marshal.SizeOf<GgmlInitParams>());
        LlamaBackend.EnsureInitialized();
        using var g = new GraphContext(16, grads: false, "layout");
        IntPtr t = g.NewTensor(0, [3, 5, 7]);
        Assert.Equal([3L, 5, 7, 1], GraphContext.Shape(t));
        Assert.Equal(IntPtr.Zero, ((GgmlTensorHead*)t)->buffer);
    }

    [Theory]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    public void Half_precision_weights_load_into_f32_master_weights(GgmlType type)
    {
        string path = TinyModels.Create($"{type}.gguf", TinyModels.Small, seed: 2, weightType: type);
        var file = GgufFile.Open(path);
        using var session = ModelSession.Open(path, new TrainingOptions { Device = ComputeDevice.Cpu, Threads = 1 }, withOutput: true, _ => [], new HashSet<string>());
        foreach (var p in session.Parameters.All)
        {
            Assert.Equal(p.Shape.Length == 1 ? GgmlType.F32 : type, file.GetTensor(p.Name).Type);
            Assert.Equal(file.ReadTensorFloats(file.GetTensor(p.Name)), ParameterStore.Read(p.Tensor));
        }
    }
}
