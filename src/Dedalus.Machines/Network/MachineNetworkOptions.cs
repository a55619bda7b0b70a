using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Dedalus.Machines.Network;

/// <summary>
/// The host side of machine networking, one per runtime (server instance): the machine subnet, the names of what the
/// runtime creates on the host, the default egress rules and the DNS forwarder's upstreams.
/// </summary>
public sealed partial record MachineNetworkOptions
{
    /// <summary>The default machine subnet: rarely used by home, office or cloud networks.</summary>
    public static IPNetwork DefaultSubnet { get; } = IPNetwork.Parse("10.207.0.0/16");

    /// <summary>
    /// What every machine is refused by default unless its own or the operator's allow list names it: private and
    /// shared ranges, link-local (cloud metadata), multicast, and their IPv6 counterparts.
    /// </summary>
    public static IReadOnlyList<IPNetwork> StandardDenyCidrs { get; } =
    [
        IPNetwork.Parse("10.0.0.0/8"),
        IPNetwork.Parse("172.16.0.0/12"),
        IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("100.64.0.0/10"),
        IPNetwork.Parse("169.254.0.0/16"),
        IPNetwork.Parse("224.0.0.0/4"),
        IPNetwork.Parse("240.0.0.0/4"),
        IPNetwork.Parse("0.0.0.0/8"),
        IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("fc00::/7"),
        IPNetwork.Parse("fe80::/10"),
        IPNetwork.Parse("ff00::/8"),
        IPNetwork.Parse("::1/128"),
    ];

    /// <summary>The IPv4 subnet machine addresses come from; its first address is the host side (gateway and DNS).</summary>
    public IPNetwork Subnet { get; init; } = DefaultSubnet;

    /// <summary>
    /// Short name (1-6 of [a-z0-9]) of this runtime's host objects: nft table <c>inet dedalus_&lt;instance&gt;</c>,
    /// interfaces and network namespaces. Two runtimes on one host need different instances and disjoint subnets.
    /// </summary>
    public required string Instance { get; init; }

    /// <summary>The default deny list (operator-changeable): <see cref="StandardDenyCidrs"/> unless set.</summary>
    public IReadOnlyList<IPNetwork> DefaultDenyCidrs { get; init; } = StandardDenyCidrs;

    /// <summary>Internal ranges the operator opens to every machine (checked before the default deny list).</summary>
    public IReadOnlyList<IPNetwork> AllowCidrs { get; init; } = [];

    /// <summary>Resolvers the DNS forwarder asks; empty: the host's own (<c>/etc/resolv.conf</c>).</summary>
    public IReadOnlyList<IPAddress> DnsUpstreams { get; init; } = [];

    /// <summary>The host side's address in every machine's subnet: the machines' default gateway and resolver.</summary>
    public IPAddress GatewayAddress
    {
        get
        {
            var bytes = Subnet.BaseAddress.GetAddressBytes();
            bytes[^1] |= 1;
            return new IPAddress(bytes);
        }
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (Instance is null || !InstancePattern().IsMatch(Instance))
        {
            throw new ArgumentException($"invalid network instance '{Instance}': 1-6 of [a-z0-9]", nameof(Instance));
        }

        if (Subnet.BaseAddress.AddressFamily != AddressFamily.InterNetwork || Subnet.PrefixLength is < 8 or > 29)
        {
            throw new ArgumentException($"invalid machine subnet {Subnet}: an IPv4 network from /8 to /29", nameof(Subnet));
        }

        foreach (var upstream in DnsUpstreams)
        {
            if (upstream.Equals(GatewayAddress))
            {
                throw new ArgumentException($"invalid DNS upstream {upstream}: the forwarder's own address", nameof(DnsUpstreams));
            }
        }
    }

    [GeneratedRegex("^[a-z0-9]{1,6}$", RegexOptions.CultureInvariant)]
    private static partial Regex InstancePattern();
}
