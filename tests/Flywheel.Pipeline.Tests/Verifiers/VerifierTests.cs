using Flywheel.Pipeline.Verifiers;

namespace Flywheel.Pipeline.Tests.Verifiers;

public class VerifierTests
{
    [Theory]
    [InlineData("gsm8k", "gsm8k")]
    [InlineData("GSM8K", "gsm8k")]
    [InlineData(" exact", "exact")]
    public void Create_knows_the_verifiers_by_name(string name, string expected) =>
        Assert.Equal(expected, Verifier.Create(name).Name);

    [Fact]
    public void An_unknown_name_lists_the_known_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => Verifier.Create("math"));

        Assert.StartsWith("unknown verifier 'math'; known verifiers: gsm8k, exact", e.Message, StringComparison.Ordinal);
        Assert.Equal(["gsm8k", "exact"], Verifier.Names);
    }
}
