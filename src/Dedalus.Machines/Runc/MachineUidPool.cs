using System.Globalization;

namespace Dedalus.Machines.Runc;

/// <summary>
/// The host uids machines get their ranges from: <paramref name="Slots"/> ranges of 65536 ids from
/// <paramref name="First"/>. The default lies inside systemd's container uid range (524288-1879048191, see its "Users,
/// Groups, UIDs and GIDs" document), far above the ranges <c>/etc/subuid</c> hands to users (from 100000) and the shared
/// range (100000-165535).
/// </summary>
public sealed record MachineUidPool(int First, int Slots)
{
    /// <summary>Ids per range: a whole 16-bit uid space inside each machine.</summary>
    public const int RangeSize = 65536;

    /// <summary>1073741824-1610612735: 8192 ranges.</summary>
    public static MachineUidPool Default { get; } = new(0x4000_0000, 8192);

    public const string DefaultRegistry = "/var/lib/dedalus/uid-ranges";

    /// <summary>The last host uid of the pool.</summary>
    public long Last => First + ((long)Slots * RangeSize) - 1;

    /// <summary>The first host uid of range <paramref name="slot"/>.</summary>
    public int BaseOf(int slot) => checked(First + (slot * RangeSize));

    /// <summary>Whether <paramref name="uidBase"/> is the first uid of one of the pool's ranges.</summary>
    public bool Holds(int uidBase) => uidBase >= First && uidBase <= Last && (uidBase - First) % RangeSize == 0;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{First}-{Last}");

    /// <summary>
    /// Parses <c>FIRST-LAST</c> (host uids, inclusive): FIRST a multiple of 65536 above the shared range, at least one whole
    /// range, LAST at most 2147483647 (ids past it trouble many tools); ids past the last whole range are unused.
    /// </summary>
    public static bool TryParse(string text, out MachineUidPool? pool, out string? error)
    {
        pool = null;
        var parts = text.Split('-');
        if (parts.Length != 2
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var last))
        {
            error = "must be FIRST-LAST, two host uids such as 1073741824-1610612735, or 'shared'";
            return false;
        }

        if (first % RangeSize != 0 || first < 4 * RangeSize)
        {
            error = $"FIRST must be a multiple of 65536 from 262144 on (clear of the system's and the shared range 100000-165535), not {first}";
            return false;
        }

        if (last > int.MaxValue || last - first + 1 < RangeSize)
        {
            error = "must hold at least one range of 65536 uids and end at 2147483647 at most";
            return false;
        }

        pool = new MachineUidPool((int)first, (int)((last - first + 1) / RangeSize));
        error = null;
        return true;
    }
}
