using System.Net;

namespace Dedalus.Server.Telemetry;

/// <summary>
/// Who may read <c>/metrics</c>: it reveals counts (machines, sessions, connections) and route names, so only clients in
/// the allowed ranges (<c>--metrics-allow</c>; by default loopback, <see cref="DefaultAllowed"/>). The address is the
/// TCP peer's: the server trusts no forwarding header, so a proxy in front is seen as itself.
/// </summary>
public sealed class MetricsAccess(IReadOnlyList<IPNetwork> allowed)
{
    /// <summary>Clients on this host: 127.0.0.0/8 and ::1.</summary>
    public static readonly IReadOnlyList<IPNetwork> DefaultAllowed = [IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("::1/128")];

    /// <summary>Whether a client at <paramref name="address"/> may scrape; null (not a TCP client) never may.</summary>
    public bool Allows(IPAddress? address)
    {
        if (address is null)
        {
            return false;
        }

        // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; the ranges are written as IPv4.
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return allowed.Any(range => range.Contains(address));
    }
}
