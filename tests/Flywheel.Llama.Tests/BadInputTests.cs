using Flywheel.Llama.Gguf;

namespace Flywheel.Llama.Tests;

public class BadInputTests
{
    [Fact]
    public void A_missing_model_file_names_the_file()
    {
        var e = Assert.Throws<FileNotFoundException>(() => LlamaModel.Load("/nonexistent/model.gguf"));
        Assert.Contains("/nonexistent/model.gguf", e.Message);
    }

    [Fact]
    public void A_non_gguf_file_is_refused_before_llama_cpp_sees_it()
    {
        string path = TestModels.TempPath("not-a-model.gguf");
        File.WriteAllText(path, "{\"this\": \"is json\"}");
        var e = Assert.Throws<GgufFormatException>(() => LlamaModel.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("GGUF magic", e.Message);
    }

    [Fact]
    public void An_architecture_llama_cpp_lacks_gives_a_one_line_error_naming_it()
    {
        string path = TestModels.TempPath("alien.gguf");
        var w = new GgufWriter().Set("general.architecture", GgufValue.Of("alienformer"));
        ByteLevelVocabulary.AddTo(w);
        w.AddTensor("token_embd.weight", [4, ByteLevelVocabulary.Size], new float[4 * ByteLevelVocabulary.Size]).WriteTo(path);
        var e = Assert.Throws<LlamaException>(() => LlamaModel.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("alienformer", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_model_missing_a_tensor_is_refused_with_llama_cpp_reason()
    {
        string path = TestModels.TempPath("incomplete.gguf");
        var hp = new LlamaHyperparameters { EmbeddingLength = 8, Layers = 1, Heads = 2, KvHeads = 1, FeedForwardLength = 8 };
        var w = new GgufWriter();
        hp.AddTo(w, "incomplete");
        ByteLevelVocabulary.AddTo(w);
        foreach (var (name, shape) in hp.TensorShapes().Where(t => t.Name != "blk.0.ffn_up.weight"))
            w.AddTensor(name, shape, new float[shape.Aggregate(1L, (a, b) => a * b)]);
        w.WriteTo(path);
        var e = Assert.Throws<LlamaException>(() => LlamaModel.Load(path));
        Assert.True(e.Message.Contains("missing tensor 'blk.0.ffn_up.weight'", StringComparison.Ordinal), e.Message);
    }
}
