using Flywheel.Llama.Chat;
using Flywheel.Pipeline.Datasets;

namespace Flywheel.Pipeline.Tests;

public class RecordsTests
{
    [Fact]
    public void Records_compare_by_value_of_their_fields()
    {
        var prompt = new[] { new ChatMessage("user", "2+2?") };
        Assert.Equal(new PromptRecord("p1", prompt, "4"), new PromptRecord("p1", prompt, "4"));
        Assert.NotEqual(new PreferencePair(prompt, "4", "5", null, "a"), new PreferencePair(prompt, "4", "5", 1.0, "a"));
    }
}
