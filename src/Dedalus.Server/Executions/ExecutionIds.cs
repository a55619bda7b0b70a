using System.Security.Cryptography;

namespace Dedalus.Server.Executions;

/// <summary>Execution ids (<c>ex-</c> and 32 lowercase hex digits) and log stream ids (<c>ls-</c>, likewise): random, never reused.</summary>
public static class ExecutionIds
{
    public const string Prefix = "ex-";
    public const string StreamPrefix = "ls-";

    public static string New() => Prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public static string NewStream() => StreamPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public static bool IsWellFormed(string? id) => IsWellFormed(id, Prefix);

    public static bool IsWellFormedStream(string? id) => IsWellFormed(id, StreamPrefix);

    /// <summary>The execution's name in the runtime (its process group): the id without its prefix.</summary>
    public static string RuntimeName(string executionId) => executionId[Prefix.Length..];

    private static bool IsWellFormed(string? id, string prefix) =>
        id is { Length: 35 } && id.StartsWith(prefix, StringComparison.Ordinal) && id.AsSpan(3).ContainsAnyExcept("0123456789abcdef") is false;
}
