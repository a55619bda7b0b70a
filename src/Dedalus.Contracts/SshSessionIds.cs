using System.Buffers;

namespace Dedalus.Contracts;

/// <summary>
/// The shape of an SSH session id in a path, which the SDK and the CLI check before they send one. The contract makes
/// session ids opaque strings; this server issues <c>ss-</c> and 40 lowercase hex digits, other DCS servers UUIDs. Both are
/// letters, digits and hyphens, so an id is 1 to <see cref="MaxLength"/> ASCII letters, digits, <c>-</c> or <c>_</c>: a
/// single path segment as it is, which can never be <c>.</c>, <c>..</c> or hold a slash or a percent sign.
/// </summary>
public static class SshSessionIds
{
    /// <summary>The longest session id accepted.</summary>
    public const int MaxLength = 128;

    /// <summary>What a session id looks like, for error messages.</summary>
    public const string FormatDescription = "ss-<hex> (letters, digits, '-' and '_' only)";

    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    /// <summary>Whether <paramref name="text"/> has the shape of a session id (no trimming: white space is not part of an id).</summary>
    /// <param name="text">The text to check.</param>
    /// <returns><see langword="true"/> when it is 1 to <see cref="MaxLength"/> ASCII letters, digits, <c>-</c> or <c>_</c>.</returns>
    public static bool IsWellFormed(string? text) =>
        text is { Length: > 0 and <= MaxLength } && text.AsSpan().IndexOfAnyExcept(Allowed) < 0;
}
