using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Dedalus.Machines.Network;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Hosting;
using Dedalus.Server.Store;

namespace Dedalus.Server.Networking;

/// <summary>
/// The server's side of machine networking: whether it is on, the subnet machine addresses come from, the runtime's
/// host-side options, and what a stored machine's network is (its address and its policy).
/// </summary>
public sealed class MachineNetworking
{
    private readonly IPNetwork? _subnet;

    public MachineNetworking(ServerOptions options)
    {
        _subnet = options.MachineNetwork;
        if (_subnet is { } subnet)
        {
            RuntimeOptions = new MachineNetworkOptions
            {
                Subnet = subnet,
                Instance = InstanceOf(ServerConfiguration.RuntimeDirectory(options)),
                AllowCidrs = options.EgressAllow,
                DefaultDenyCidrs = options.EgressDenyDefault,
                DnsUpstreams = options.DnsUpstream,
            };
        }
    }

    /// <summary>Whether machines get a network (an interface, NAT, DNS, an egress policy).</summary>
    public bool Enabled => _subnet is not null;

    /// <summary>The runtime's host-side options; null when networking is off.</summary>
    public MachineNetworkOptions? RuntimeOptions { get; }

    /// <summary>The first and last host number a machine may get (the first address of the subnet is the host side).</summary>
    public (long First, long Last) HostRange
    {
        get
        {
            var subnet = _subnet ?? throw new InvalidOperationException("machine networking is off");
            var size = 1L << (32 - subnet.PrefixLength);
            return (2, size - 2);
        }
    }

    /// <summary>The address of host number <paramref name="host"/> in the subnet.</summary>
    public IPAddress AddressOf(long host)
    {
        var subnet = _subnet ?? throw new InvalidOperationException("machine networking is off");
        var bytes = subnet.BaseAddress.GetAddressBytes();
        var value = ((long)bytes[0] << 24 | (long)bytes[1] << 16 | (long)bytes[2] << 8 | bytes[3]) + host;
        return new IPAddress([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
    }

    /// <summary>Every address a machine may get, lowest first.</summary>
    public IEnumerable<string> Candidates()
    {
        var (first, last) = HostRange;
        for (var host = first; host <= last; host++)
        {
            yield return AddressOf(host).ToString();
        }
    }

    /// <summary>Whether a stored address belongs to the configured subnet (after a subnet change it does not: a new one is given).</summary>
    public bool Holds(string? address) =>
        _subnet is { } subnet && address is not null && IPAddress.TryParse(address, out var parsed)
        && parsed.AddressFamily == AddressFamily.InterNetwork && subnet.Contains(parsed);

    /// <summary>The network the runtime applies to a machine with an address.</summary>
    public static MachineNetwork NetworkOf(MachineRecord machine) =>
        new(IPAddress.Parse(machine.NetworkAddress ?? throw new InvalidOperationException($"machine {machine.Id} has no network address")),
            NetworkPolicies.FromStored(machine.NetworkPolicy));

    /// <summary>A short name for this server's host objects (nft table, interfaces): 6 hex digits of its runtime directory.</summary>
    public static string InstanceOf(string runtimeDirectory) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(runtimeDirectory))))[..6];
}
