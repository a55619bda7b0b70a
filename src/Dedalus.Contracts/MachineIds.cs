using System.Diagnostics.CodeAnalysis;

namespace Dedalus.Contracts;

/// <summary>
/// Machine ids: <c>dm-&lt;lowercase uuid&gt;</c>. Paths and user input may also carry the bare uuid, in any case.
/// The one parser the server, the SDK and the CLI share.
/// </summary>
public static class MachineIds
{
    /// <summary>The prefix of the canonical form.</summary>
    public const string Prefix = "dm-";

    /// <summary>The canonical id of <paramref name="uuid"/>: <c>dm-</c> and the lowercase uuid.</summary>
    /// <param name="uuid">The machine's uuid.</param>
    /// <returns>The canonical machine id.</returns>
    public static string Format(Guid uuid) => Prefix + uuid.ToString("D");

    /// <summary>
    /// Parses <c>dm-&lt;uuid&gt;</c> or a bare uuid (hyphenated, 36 characters, any case) into the canonical form.
    /// Nothing else is a machine id: no braces, no surrounding white space, no path characters.
    /// </summary>
    /// <param name="text">The text to parse.</param>
    /// <param name="machineId">The canonical <c>dm-&lt;uuid&gt;</c> form when valid.</param>
    /// <returns><see langword="true"/> when <paramref name="text"/> is a machine id.</returns>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out string? machineId)
    {
        machineId = null;
        if (text is null)
        {
            return false;
        }

        var uuid = text.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) ? text.AsSpan(Prefix.Length) : text.AsSpan();
        if (uuid.Length != 36 || !Guid.TryParseExact(uuid, "D", out var parsed))
        {
            return false;
        }

        machineId = Format(parsed);
        return true;
    }
}
