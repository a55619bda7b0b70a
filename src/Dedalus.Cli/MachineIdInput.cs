using System.Diagnostics.CodeAnalysis;
using Dedalus.Contracts;

namespace Dedalus.Cli;

/// <summary>
/// A machine id as a user types it: surrounding white space is dropped, then <see cref="MachineIds"/> (the parser
/// the server and the SDK share) decides. Both forms are accepted, in any case.
/// </summary>
internal static class MachineIdInput
{
    public static bool TryParse(string? text, [NotNullWhen(true)] out string? machineId) =>
        MachineIds.TryParse(text?.Trim(), out machineId);
}
