namespace Dedalus.Gateway;

/// <summary>
/// Chooses a machine's gateway port. The control plane persists the choice (the port is stable for
/// the life of the machine) and passes the ports already taken.
/// </summary>
public static class GatewayPortAllocator
{
    /// <summary>The lowest port of the configured range not in <paramref name="usedPorts"/>.</summary>
    /// <returns>False when every port of the range is taken.</returns>
    public static bool TryAllocate(GatewayOptions options, IReadOnlySet<int> usedPorts, out int port)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(usedPorts);
        return TryAllocate(options.PortRangeStart, options.PortRangeEnd, usedPorts, out port);
    }

    /// <summary>The lowest port of <paramref name="start"/>..<paramref name="end"/> (inclusive) not in <paramref name="usedPorts"/>.</summary>
    public static bool TryAllocate(int start, int end, IReadOnlySet<int> usedPorts, out int port)
    {
        ArgumentNullException.ThrowIfNull(usedPorts);
        if (start is < 1 or > 65535 || end is < 1 or > 65535 || end < start)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"invalid port range {start}-{end}");
        }

        for (var candidate = start; candidate <= end; candidate++)
        {
            if (!usedPorts.Contains(candidate))
            {
                port = candidate;
                return true;
            }
        }

        port = 0;
        return false;
    }

    /// <summary>Like <see cref="TryAllocate(GatewayOptions, IReadOnlySet{int}, out int)"/>; throws <see cref="GatewayException"/> when the range is exhausted.</summary>
    public static int Allocate(GatewayOptions options, IReadOnlySet<int> usedPorts)
    {
        ArgumentNullException.ThrowIfNull(options);
        return TryAllocate(options, usedPorts, out var port)
            ? port
            : throw new GatewayException($"every gateway port in {options.PortRangeStart}-{options.PortRangeEnd} is taken", null, null);
    }
}
