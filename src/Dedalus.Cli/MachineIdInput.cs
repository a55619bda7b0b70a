using System.Diagnostics.CodeAnalysis;
using Dedalus.Contracts;

namespace Dedalus.Cli;

/// <summary>
/// A machine as a user types it. <see cref="TryParse"/> takes only an id (surrounding white space dropped, then
/// <see cref="MachineIds"/>, the parser the server and the SDK share, decides; both forms, any case).
/// <see cref="TryParseIdOrName"/> also takes a machine's name (<see cref="MachineNames"/>), which the server accepts in
/// every <c>/v1/machines/{machine}</c> path in place of the id.
/// </summary>
internal static class MachineIdInput
{
    /// <summary>What the commands that take a machine say it is.</summary>
    public const string Shape = "a machine id (the uuid, or dm-<uuid>) or a machine name, as `dedalus machines list` shows";

    public static bool TryParse(string? text, [NotNullWhen(true)] out string? machineId) =>
        MachineIds.TryParse(text?.Trim(), out machineId);

    /// <summary>
    /// An id (returned in its canonical form) or a name (returned as typed); otherwise false and the reason, one sentence
    /// to follow "'text' is not a machine id or name: ".
    /// </summary>
    public static bool TryParseIdOrName(string? text, [NotNullWhen(true)] out string? machine, [NotNullWhen(false)] out string? problem)
    {
        machine = null;
        problem = null;
        if (TryParse(text, out machine))
        {
            return true;
        }

        if (text is null)
        {
            problem = "pass " + Shape;
            return false;
        }

        problem = text is "." or ".." ? "a name cannot be '.' or '..'" : MachineNames.Problem(text) is { } p ? "a name " + p : null;
        if (problem is not null)
        {
            problem += "; pass " + Shape;
            return false;
        }

        machine = text;
        return true;
    }

    /// <summary>The usage error for text that is neither an id nor a name.</summary>
    public static string Error(string text, string problem) =>
        $"'{new string([.. text.Take(80).Select(c => char.IsControl(c) ? '?' : c)])}{(text.Length > 80 ? "..." : string.Empty)}' is not a machine id or name: {problem}";
}
