using Flywheel.Llama.Gguf;

namespace Flywheel.Llama.Tests;

public class LlamaModelTests
{
    [Fact]
    public void Tiny_model_loads_with_its_hyperparameters()
    {
        var model = TestModels.TinyModel;
        Assert.Equal(64, model.EmbeddingLength);
        Assert.Equal(2, model.LayerCount);
        Assert.Equal(ByteLevelVocabulary.Size, model.Vocabulary.Count);
        Assert.Equal("llama", model.Metadata["general.architecture"]);
        Assert.Contains("<|im_start|>", model.ChatTemplateSource);
    }

    [Fact]
    public void Byte_level_vocabulary_tokenizes_one_token_per_byte_and_round_trips()
    {
        var vocab = TestModels.TinyModel.Vocabulary;
        const string text = "Hi ünï 🦙\n";
        var tokens = vocab.Tokenize(text);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(text), tokens.Length);
        Assert.Equal(text, vocab.Detokenize(tokens));
    }
}
