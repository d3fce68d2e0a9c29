using Flywheel.Llama.Chat;
using Flywheel.Pipeline.Datasets;
using Flywheel.Pipeline.Tests.Datasets;
using Flywheel.Pipeline.Verifiers;

namespace Flywheel.Pipeline.Tests.Verifiers;

public class Gsm8kVerifierTests
{
    private static readonly IVerifier Gsm8k = Verifier.Create("gsm8k");

    [Theory]
    [InlineData("#### 18", "18")]
    [InlineData("The answer is 18.", "18")]
    [InlineData("She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18", "18")]
    [InlineData("#### 42 (not 17)", "42")]
    [InlineData("So 3 boxes.\n####   1,600", "1600")]
    [InlineData("She makes $1,600.00 a day.", "1600")]
    [InlineData("It costs $-5 or -$5", "-5")]
    [InlineData("It is -12 degrees", "-12")]
    [InlineData("16-3-4=9", "9")]
    [InlineData("Half of it: 0.50 kg", "0.5")]
    [InlineData("18.0", "18")]
    [InlineData("-0", "0")]
    [InlineData("The share is 25%.", "25")]
    [InlineData("It takes 7 hours", "7")]
    [InlineData("1,2,3", "3")]
    [InlineData("1,000,000 people", "1000000")]
    [InlineData("12,34", "34")]
    [InlineData("no number here", null)]
    [InlineData("#### unsure", null)]
    [InlineData("#### ۱۶", null)]
    [InlineData("۱۶ or 7", "7")]
    [InlineData("", null)]
    public void Extracts_the_final_numeric_answer(string completion, string? expected) =>
        Assert.Equal(expected, Gsm8k.ExtractAnswer(completion));

    [Fact]
    public void Every_real_gsm8k_reference_verifies_against_itself_reformatted_and_not_against_a_wrong_answer()
    {
        var prompts = PromptDatasets.ReadAsync(TestFiles.Data("gsm8k", "test.jsonl.gz")).ToBlockingEnumerable().ToList();
        Assert.Equal(1319, prompts.Count);

        foreach (var prompt in prompts)
        {
            string reference = prompt.Answer!;
            string final = reference[(reference.LastIndexOf("#### ", StringComparison.Ordinal) + 5)..];
            string plain = final.Replace(",", "", StringComparison.Ordinal);
            string[] right =
            [
                $"The answer is {final}.",
                $"The answer is {plain}.",
                $"#### {final}",
                reference,
                $"So in total it comes to ${plain}.00",
                $"{final} dollars",
            ];
            foreach (string completion in right)
            {
                Assert.True(Gsm8k.IsCorrect(prompt, completion), $"{prompt.Id}: '{completion}' should match '{final}'");
            }

            string wrong = $"The answer is {long.Parse(plain, System.Globalization.CultureInfo.InvariantCulture) + 1}.";
            Assert.False(Gsm8k.IsCorrect(prompt, wrong), $"{prompt.Id}: '{wrong}' should not match '{final}'");
            Assert.False(Gsm8k.IsCorrect(prompt, $"#### {plain}1"), prompt.Id);
        }
    }

    [Fact]
    public void A_prompt_without_a_numeric_reference_is_an_argument_fault()
    {
        var none = new PromptRecord("p1", [new ChatMessage("user", "2+2?")], null);
        var words = none with { Answer = "four" };

        Assert.Contains("'p1'", Assert.Throws<ArgumentException>(() => Gsm8k.IsCorrect(none, "4")).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Gsm8k.IsCorrect(words, "4"));
    }
}
