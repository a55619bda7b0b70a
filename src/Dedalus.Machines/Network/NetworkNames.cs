using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Dedalus.Machines.Network;

/// <summary>
/// Names of what one runtime instance creates on the host: its nft table, the bridge that holds the gateway address,
/// and per machine a network namespace and a veth pair (the host side named from a hash, interface names having at
/// most 15 characters; fixed MAC addresses on both sides, so each side's neighbour entry is written, not learnt).
/// </summary>
internal sealed class NetworkNames(string instance)
{
    /// <summary>
    /// The interface group of every machine's host-side veth, whatever the instance: the forward chain's "nothing
    /// else" rule (while Dedalus turned forwarding on) spares the machines of every instance.
    /// </summary>
    public const int MachineLinkGroup = 0xDEDA;

    public string Instance { get; } = instance;

    /// <summary>The nft table (family inet): the only one this instance ever writes.</summary>
    public string Table => "dedalus_" + Instance;

    /// <summary>A bridge without ports that holds the gateway address (the DNS forwarder listens on it).</summary>
    public string Bridge => "dedalus-" + Instance;

    /// <summary>The prefix of this instance's network namespaces (<c>ip netns</c> names).</summary>
    public string NamespacePrefix => $"dedalus-{Instance}-";

    public string Namespace(string machineId) => NamespacePrefix + machineId;

    /// <summary>The namespace's bind mount, what runc joins.</summary>
    public string NamespacePath(string machineId) => "/run/netns/" + Namespace(machineId);

    /// <summary>The host side of the machine's veth pair: <c>dv</c> and 10 hex digits.</summary>
    public string HostLink(string machineId) => "dv" + Hash(machineId);

    /// <summary>The suffix of the machine's chain names in the table.</summary>
    public string ChainSuffix(string machineId) => Hash(machineId);

    /// <summary>The host side's MAC address (locally administered, unicast).</summary>
    public string HostMac(string machineId) => Mac(0x02, machineId);

    /// <summary>The machine side's MAC address (locally administered, unicast).</summary>
    public string MachineMac(string machineId) => Mac(0x06, machineId);

    private string Hash(string machineId) => Convert.ToHexStringLower(Digest(machineId), 0, 5);

    private string Mac(byte first, string machineId)
    {
        var digest = Digest(machineId);
        return string.Join(':', new[] { first, digest[0], digest[1], digest[2], digest[3], digest[4] }
            .Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
    }

    private byte[] Digest(string machineId) => SHA256.HashData(Encoding.UTF8.GetBytes(Instance + "/" + machineId));
}
