using Flywheel.Llama.Chat;

namespace Flywheel.Llama.Tests;

public class ChatTemplateTests
{
    private static readonly ChatMessage[] Conversation = [new("system", "Be brief."), new("user", "Hi ünï?")];

    [Fact]
    public void The_models_own_chatml_template_formats_and_tokenizes_specials_as_single_tokens()
    {
        var model = TestModels.TinyModel;
        var template = ChatTemplate.FromModel(model);
        string text = template.Apply(Conversation);
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi ünï?<|im_end|>\n<|im_start|>assistant\n", text);
        var tokens = model.Vocabulary.Tokenize(text, addSpecial: true, parseSpecial: true);
        Assert.Equal(model.Vocabulary.Bos, tokens[0]);
        Assert.Equal(1, tokens.Count(t => t == model.Vocabulary.Bos));
        Assert.Equal(3, tokens.Count(t => model.Vocabulary.TokenText(t) == "<|im_start|>"));
        Assert.True(model.Vocabulary.IsEndOfGeneration(model.Vocabulary.Tokenize("<|im_end|>", parseSpecial: true).Single()));
    }

    [Fact]
    public void Built_in_templates_are_listed_and_llama3_formats_as_llama_3_does()
    {
        Assert.Contains("chatml", ChatTemplate.BuiltInNames);
        Assert.Contains("llama3", ChatTemplate.BuiltInNames);
        string text = ChatTemplate.Named("llama3").Apply(Conversation);
        Assert.Equal("<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi ünï?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", text);
        Assert.EndsWith("Hi ünï?<|eot_id|>", ChatTemplate.Named("llama3").Apply(Conversation, addAssistantPrompt: false));
    }

    [Fact]
    public void Unknown_templates_are_refused_with_the_list_of_known_ones()
    {
        var e = Assert.Throws<LlamaException>(() => ChatTemplate.Named("no-such-template"));
        Assert.Contains("chatml", e.Message);
    }
}
