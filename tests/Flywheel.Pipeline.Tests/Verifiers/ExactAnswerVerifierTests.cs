using Flywheel.Llama.Chat;
using Flywheel.Pipeline.Datasets;
using Flywheel.Pipeline.Verifiers;

namespace Flywheel.Pipeline.Tests.Verifiers;

public class ExactAnswerVerifierTests
{
    private static readonly IVerifier Exact = Verifier.Create("exact");

    [Theory]
    [InlineData("42", "42", true)]
    [InlineData(" 42\n", "42", true)]
    [InlineData("42.", "42", true)]
    [InlineData("The answer is 42", "42", true)]
    [InlineData("42 is the answer, not 41", "42", true)]
    [InlineData("043", "43", true)]
    [InlineData("-3", "-3", true)]
    [InlineData("5-3 is 2", "2", false)]
    [InlineData("17 + 25 = 42", "42", false)]
    [InlineData("41", "42", false)]
    [InlineData("4 2", "42", false)]
    [InlineData("", "42", false)]
    [InlineData("Paris", " Paris ", true)]
    [InlineData("Paris.", "Paris", false)]
    [InlineData("paris", "Paris", false)]
    public void Matches_the_first_integer_or_the_whole_trimmed_completion(string completion, string answer, bool correct) =>
        Assert.Equal(correct, Exact.IsCorrect(new PromptRecord("p", [new ChatMessage("user", "?")], answer), completion));

    [Theory]
    [InlineData("The answer is 42, I think 43", "42")]
    [InlineData("x-5", "-5")]
    [InlineData("  Paris ", "Paris")]
    [InlineData(" \n", null)]
    public void Extracts_the_first_integer_or_the_trimmed_text(string completion, string? expected) =>
        Assert.Equal(expected, Exact.ExtractAnswer(completion));

    [Fact]
    public void Small_arithmetic_like_the_demo_verifies()
    {
        for (int a = 0; a < 100; a += 7)
        {
            for (int b = 0; b < 100; b += 3)
            {
                var prompt = new PromptRecord($"add-{a}-{b}", [new ChatMessage("user", $"What is {a} + {b}?")], $"{a + b}");
                Assert.True(Exact.IsCorrect(prompt, $"{a + b}"));
                Assert.True(Exact.IsCorrect(prompt, $" {a + b}.\n"));
                Assert.False(Exact.IsCorrect(prompt, $"{a + b + 1}"));
            }
        }
    }

    [Fact]
    public void A_prompt_without_a_reference_is_an_argument_fault() =>
        Assert.Throws<ArgumentException>(() => Exact.IsCorrect(new PromptRecord("p", [new ChatMessage("user", "?")], " "), "42"));
}
