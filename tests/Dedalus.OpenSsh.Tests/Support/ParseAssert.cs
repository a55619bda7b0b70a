using System.Diagnostics.CodeAnalysis;

namespace Dedalus.OpenSsh.Tests.Support;

/// <summary>Assertions on the library's two ways to parse a text line: <c>TryParse</c> and <c>Parse</c>.</summary>
internal static class ParseAssert
{
    public delegate bool TryParser<T>(string line, [NotNullWhen(true)] out T? value, [NotNullWhen(false)] out string? error);

    /// <summary>
    /// <paramref name="line"/> is refused both ways with the same message, which contains
    /// <paramref name="expectedMessagePart"/>: TryParse returns false and no value, Parse throws <see cref="SshFormatException"/>.
    /// </summary>
    public static void Refused<T>(string line, string expectedMessagePart, TryParser<T> tryParse, Func<string, T> parse)
        where T : class
    {
        Assert.False(tryParse(line, out var value, out var error));
        Assert.Null(value);
        Assert.Contains(expectedMessagePart, error, StringComparison.Ordinal);
        var ex = Assert.Throws<SshFormatException>(() => parse(line));
        Assert.Equal(error, ex.Message);
    }
}
