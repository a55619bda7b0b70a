using System.Diagnostics.CodeAnalysis;

namespace Dedalus.Server.Domain;

/// <summary>Machine ids are <c>dm-&lt;lowercase uuid&gt;</c>; the bare uuid is accepted as input too.</summary>
public static class MachineIds
{
    public const string Prefix = "dm-";

    public static string New(DateTimeOffset now) => Prefix + Guid.CreateVersion7(now).ToString("D");

    /// <summary>Normalises <paramref name="input"/> (either form, any case) to the <c>dm-</c> form.</summary>
    public static bool TryNormalize(string? input, [NotNullWhen(true)] out string? machineId)
    {
        machineId = null;
        if (string.IsNullOrEmpty(input) || input.Length > 253)
        {
            return false;
        }

        var uuid = input.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) ? input[Prefix.Length..] : input;
        if (uuid.Length != 36 || !Guid.TryParseExact(uuid, "D", out var guid))
        {
            return false;
        }

        machineId = Prefix + guid.ToString("D");
        return true;
    }
}
