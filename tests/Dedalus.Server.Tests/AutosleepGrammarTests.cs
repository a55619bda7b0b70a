using Dedalus.Server.Machines;

namespace Dedalus.Server.Tests;

public sealed class AutosleepGrammarTests
{
    [Theory]
    [InlineData("30s", 30)]
    [InlineData("15m", 900)]
    [InlineData("2h", 7200)]
    [InlineData("1w3d", 864000)]
    [InlineData("7d3h4s", 615604)]
    [InlineData("1800", 1800)]
    [InlineData("0", 0)]
    [InlineData("never", 0)]
    [InlineData("NEVER", 0)]
    public void Valid_autosleep_values_parse_to_seconds(string text, long expected)
    {
        Assert.True(Autosleep.TryParse(text, out var seconds, out var error), error);
        Assert.Equal(expected, seconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("5x")]
    [InlineData("m5")]
    [InlineData("3s2m")]
    [InlineData("1h1h")]
    [InlineData("-5")]
    [InlineData("1.5h")]
    [InlineData("99999999999999999999")]
    [InlineData("99999999999w")]
    public void Invalid_autosleep_values_are_refused_with_a_message(string text)
    {
        Assert.False(Autosleep.TryParse(text, out _, out var error));
        Assert.Contains("autosleep", error, StringComparison.Ordinal);
    }
}
