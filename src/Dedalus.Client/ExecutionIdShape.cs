using Dedalus.Contracts;

namespace Dedalus.Client;

/// <summary>
/// The shape of an execution id in a path. The contract makes execution ids opaque strings (this server issues
/// <c>ex-</c> and 32 hex digits); an id is accepted when it is one plain path segment, by the same rule as session ids
/// (<see cref="SshSessionIds.IsWellFormed"/>: 1 to 128 ASCII letters, digits, <c>-</c> or <c>_</c>), so that it can never
/// be <c>.</c>, <c>..</c> or carry a slash, a query or a percent sign.
/// </summary>
internal static class ExecutionIdShape
{
    public const string FormatDescription = "ex-<hex> (letters, digits, '-' and '_' only)";

    public static bool IsWellFormed(string? text) => SshSessionIds.IsWellFormed(text);
}
