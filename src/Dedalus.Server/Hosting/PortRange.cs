using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Dedalus.Server.Hosting;

/// <summary>An inclusive range of TCP ports, written <c>LO-HI</c>.</summary>
public sealed record PortRange(int Low, int High)
{
    public int Count => High - Low + 1;

    public bool Contains(int port) => port >= Low && port <= High;

    public override string ToString() => Low.ToString(CultureInfo.InvariantCulture) + "-" + High.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses <c>LO-HI</c> with 1 &lt;= LO &lt;= HI &lt;= 65535.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out PortRange? range)
    {
        range = null;
        var parts = text?.Split('-', 2, StringSplitOptions.TrimEntries);
        if (parts is not { Length: 2 }
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var low)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var high)
            || low < 1 || high > 65535 || low > high)
        {
            return false;
        }

        range = new PortRange(low, high);
        return true;
    }
}
