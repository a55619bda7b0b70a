using System.Diagnostics.CodeAnalysis;

namespace Dedalus.Client;

/// <summary>Machine id forms: <c>dm-&lt;uuid&gt;</c> (canonical) and the bare uuid.</summary>
public static class MachineIds
{
    /// <summary>The prefix of canonical machine ids.</summary>
    public const string Prefix = "dm-";

    /// <summary>Turns a bare uuid into <c>dm-&lt;uuid&gt;</c> (lower case); other ids are returned trimmed.</summary>
    /// <param name="machineId">A machine id in either form.</param>
    /// <returns>The id to use in API paths.</returns>
    public static string Normalize(string machineId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(machineId);
        var trimmed = machineId.Trim();
        return Guid.TryParseExact(trimmed, "D", out var uuid) ? Prefix + uuid.ToString("D") : trimmed;
    }

    /// <summary>Whether <paramref name="value"/> is <c>dm-&lt;uuid&gt;</c> or a bare uuid.</summary>
    /// <param name="value">The text to check.</param>
    /// <param name="machineId">The canonical <c>dm-&lt;uuid&gt;</c> form when valid.</param>
    /// <returns><see langword="true"/> when the text is a machine id.</returns>
    public static bool TryParse(string? value, [NotNullWhen(true)] out string? machineId)
    {
        machineId = null;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        var text = value.Trim();
        var uuidPart = text.StartsWith(Prefix, StringComparison.Ordinal) ? text[Prefix.Length..] : text;
        if (uuidPart.Length != 36 || !Guid.TryParseExact(uuidPart, "D", out var uuid))
        {
            return false;
        }

        machineId = Prefix + uuid.ToString("D");
        return true;
    }
}
