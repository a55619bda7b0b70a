using System.Diagnostics;
using System.Globalization;
using Dedalus.Machines.Host;
using Dedalus.Machines.Runtime;
using Microsoft.Extensions.Logging;

namespace Dedalus.Machines.Network;

/// <summary>
/// The host side of one instance's machine networking, with iproute2 and nft: per machine a veth pair into the
/// network namespace runc made for it (root inside holds no CAP_NET_ADMIN, which is outside its bounding set, and its
/// /proc/sys is read-only: it cannot change its address, routes, links or sysctls; and should it ever, the policy is
/// enforced on the host side, which nothing inside reaches: anti-spoofing on the veth, the egress rules, NAT); per instance a port-less bridge holding the gateway address, the nft table
/// (<see cref="NftRuleset"/>), the DNS forwarder (<see cref="DnsForwarder"/>) and IP forwarding
/// (<see cref="HostNetworkState"/>). Every operation is idempotent.
/// </summary>
/// <remarks>
/// The gateway address sits on a bridge without ports, as libvirt's NAT networks do (virbr0): it exists before any
/// machine, so the forwarder can listen on it, and it needs no dummy interface (a module some kernels lack).
/// The machine reaches it through its veth because the host answers ARP for any of its addresses on any interface;
/// both sides' neighbour entries are written anyway (fixed MACs), so no ARP is needed at all.
/// </remarks>
internal sealed class HostNetwork
{
    private readonly MachineNetworkOptions _options;
    private readonly string _stateDirectory;
    private readonly TimeSpan _timeout;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _sharedLock = new(1, 1);

    public HostNetwork(MachineNetworkOptions options, string stateDirectory, TimeSpan commandTimeout, ILogger logger)
    {
        options.Validate();
        _options = options;
        _stateDirectory = stateDirectory;
        _timeout = commandTimeout;
        _logger = logger;
        Names = new NetworkNames(options.Instance);
        Forwarder = new DnsForwarder(options, stateDirectory, commandTimeout, logger);
    }

    public NetworkNames Names { get; }

    public DnsForwarder Forwarder { get; }

    public MachineNetworkOptions Options => _options;

    /// <summary>
    /// Bridge with the gateway address, the table rendered from <paramref name="machines"/> (read under the lock, so a
    /// later change is never overwritten by an earlier list), forwarding on, the forwarder running. <paramref name="full"/>:
    /// check the bridge's address too (else an existing bridge is taken as it is).
    /// </summary>
    public async Task EnsureSharedAsync(Func<IReadOnlyList<NetworkedMachine>> machines, bool full, CancellationToken cancellationToken)
    {
        await _sharedLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var hostLock = await HostNetworkState.LockAsync(cancellationToken).ConfigureAwait(false);
            await EnsureBridgeAsync(full, cancellationToken).ConfigureAwait(false);

            // The table before forwarding: an instance shutting down counts the tables to decide whether to turn it off.
            var list = machines();
            await ApplyRulesCoreAsync(list, cancellationToken).ConfigureAwait(false);
            if (HostNetworkState.EnsureForwarding())
            {
                NetworkLog.ForwardingEnabled(_logger, _options.Instance);
                await ApplyRulesCoreAsync(list, cancellationToken).ConfigureAwait(false);
            }

            await Forwarder.EnsureAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sharedLock.Release();
        }
    }

    /// <summary>Re-renders the table from <paramref name="machines"/>, read under the lock (live: a changed policy applies to the next packet).</summary>
    public async Task ApplyRulesAsync(Func<IReadOnlyList<NetworkedMachine>> machines, CancellationToken cancellationToken)
    {
        await _sharedLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var hostLock = await HostNetworkState.LockAsync(cancellationToken).ConfigureAwait(false);
            await ApplyRulesCoreAsync(machines(), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sharedLock.Release();
        }
    }

    /// <summary>
    /// The machine's veth pair in its network namespace (the one runc made for it, named with <c>ip netns attach</c>
    /// from its init <paramref name="initPid"/>): its address /32 on eth0 with a default route through the gateway, the
    /// host side routing the address to it; IPv6 off, unprivileged low ports and ping on, written from the host (the
    /// machine's /proc/sys is read-only).
    /// </summary>
    public async Task UpAsync(string machineId, MachineNetwork network, int initPid, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        await DownAsync(machineId, cancellationToken).ConfigureAwait(false);
        var ns = Names.Namespace(machineId);
        await IpBatchAsync(
            machineId, null, [string.Create(CultureInfo.InvariantCulture, $"netns attach {ns} {initPid}"), LinkAddCommand(machineId)], cancellationToken)
            .ConfigureAwait(false);
        DisableIpv6(Names.HostLink(machineId));
        var batch = WriteBatch(machineId, NamespaceCommands(network.Address.ToString(), machineId));
        try
        {
            const string Script =
                "set -e; " +
                "if [ -d /proc/sys/net/ipv6 ]; then echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; fi; " +
                "echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start; " +
                "echo '0 2147483647' > /proc/sys/net/ipv4/ping_group_range; " +
                "exec ip -batch \"$1\"";
            await HostCommand.RunCheckedAsync(
                "nsenter", [$"--net={Names.NamespacePath(machineId)}", "/bin/sh", "-c", Script, "sh", batch], _timeout, machineId, cancellationToken)
                .ConfigureAwait(false);
        }
        finally
        {
            File.Delete(batch);
        }

        await IpBatchAsync(machineId, null, HostRouteCommands(machineId, network.Address.ToString()), cancellationToken).ConfigureAwait(false);
        NetworkLog.MachineUp(_logger, machineId, network.Address.ToString(), Names.HostLink(machineId), stopwatch.ElapsedMilliseconds);
    }

    /// <summary>
    /// For a running machine: its namespace's name bound again from its init when missing, its veth pair made again
    /// when missing (both sides configured as at start).
    /// </summary>
    public async Task RepairAsync(string machineId, MachineNetwork network, int initPid, CancellationToken cancellationToken)
    {
        var ns = Names.Namespace(machineId);
        if (!File.Exists(Names.NamespacePath(machineId)) && initPid > 0)
        {
            await HostCommand.RunCheckedAsync("ip", ["netns", "attach", ns, initPid.ToString(CultureInfo.InvariantCulture)], _timeout, machineId, cancellationToken)
                .ConfigureAwait(false);
        }

        if (LinkExists(Names.HostLink(machineId)))
        {
            return;
        }

        NetworkLog.MachineLinkRepaired(_logger, machineId);
        await IpBatchAsync(machineId, null, [LinkAddCommand(machineId)], cancellationToken).ConfigureAwait(false);
        DisableIpv6(Names.HostLink(machineId));
        await IpBatchAsync(machineId, ns, NamespaceCommands(network.Address.ToString(), machineId), cancellationToken).ConfigureAwait(false);
        await IpBatchAsync(machineId, null, HostRouteCommands(machineId, network.Address.ToString()), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A running machine's address changed: eth0 re-addressed, the host route moved.</summary>
    public async Task ReaddressAsync(string machineId, MachineNetwork previous, MachineNetwork next, CancellationToken cancellationToken)
    {
        var ns = Names.Namespace(machineId);
        var address = next.Address.ToString();
        await IpBatchAsync(
            machineId,
            ns,
            [$"addr flush dev eth0", $"addr add {address}/32 dev eth0", $"route replace default via {_options.GatewayAddress} dev eth0 onlink"],
            cancellationToken).ConfigureAwait(false);
        await HostCommand.RunAsync("ip", ["route", "del", $"{previous.Address}/32", "dev", Names.HostLink(machineId)], _timeout, cancellationToken)
            .ConfigureAwait(false);
        await IpBatchAsync(machineId, null, HostRouteCommands(machineId, address), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes the machine's veth pair and namespace name (the namespace goes with its last process).</summary>
    public async Task DownAsync(string machineId, CancellationToken cancellationToken)
    {
        var link = Names.HostLink(machineId);
        if (LinkExists(link))
        {
            var result = await HostCommand.RunAsync("ip", ["link", "del", link], _timeout, cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded && LinkExists(link))
            {
                throw new MachineRuntimeException(machineId, $"ip link del {link} failed: {result.StandardError.Trim()}");
            }
        }

        if (File.Exists(Names.NamespacePath(machineId)))
        {
            await HostCommand.RunCheckedAsync("ip", ["netns", "del", Names.Namespace(machineId)], _timeout, machineId, cancellationToken).ConfigureAwait(false);
        }

        NetworkLog.MachineDown(_logger, machineId);
    }

    /// <summary>
    /// Removes the forwarder, the links of <paramref name="machineIds"/> (none running), every namespace of this instance,
    /// the table and the bridge, and turns forwarding off when Dedalus turned it on and no other instance has a table.
    /// </summary>
    public async Task ShutdownAsync(IReadOnlyList<string> machineIds, CancellationToken cancellationToken)
    {
        await _sharedLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var hostLock = await HostNetworkState.LockAsync(cancellationToken).ConfigureAwait(false);
            await Forwarder.StopAsync(cancellationToken).ConfigureAwait(false);
            foreach (var machineId in machineIds)
            {
                await DownAsync(machineId, cancellationToken).ConfigureAwait(false);
            }

            if (Directory.Exists("/run/netns"))
            {
                foreach (var path in Directory.EnumerateFileSystemEntries("/run/netns", Names.NamespacePrefix + "*"))
                {
                    await HostCommand.RunCheckedAsync("ip", ["netns", "del", Path.GetFileName(path)], _timeout, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
            }

            if ((await DedalusTablesAsync(cancellationToken).ConfigureAwait(false)).Contains(Names.Table))
            {
                await HostCommand.RunCheckedAsync("nft", ["delete", "table", "inet", Names.Table], _timeout, cancellationToken: cancellationToken)
                    .ConfigureAwait(false);
            }

            if (LinkExists(Names.Bridge))
            {
                await HostCommand.RunCheckedAsync("ip", ["link", "del", Names.Bridge], _timeout, cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            if (HostNetworkState.RestoreForwarding(await DedalusTablesAsync(cancellationToken).ConfigureAwait(false)))
            {
                NetworkLog.ForwardingRestored(_logger, _options.Instance);
            }

            NetworkLog.ShutDown(_logger, _options.Instance);
        }
        finally
        {
            _sharedLock.Release();
        }
    }

    /// <summary>The inet tables named <c>dedalus_*</c> on the host.</summary>
    public async Task<IReadOnlyList<string>> DedalusTablesAsync(CancellationToken cancellationToken)
    {
        var result = await HostCommand.RunCheckedAsync("nft", ["list", "tables", "inet"], _timeout, cancellationToken: cancellationToken).ConfigureAwait(false);
        return [.. result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' '))
            .Where(fields => fields.Length == 3 && fields[0] == "table" && fields[2].StartsWith("dedalus_", StringComparison.Ordinal))
            .Select(fields => fields[2])];
    }

    public static bool LinkExists(string name) => Directory.Exists("/sys/class/net/" + name);

    private async Task ApplyRulesCoreAsync(IReadOnlyList<NetworkedMachine> machines, CancellationToken cancellationToken)
    {
        var rules = NftRuleset.Render(_options, Names, machines, HostNetworkState.ForwardingTurnedOnByUs);
        await NftAsync(null, rules, cancellationToken).ConfigureAwait(false);
        NetworkLog.RulesApplied(_logger, _options.Instance, machines.Count);
    }

    private async Task EnsureBridgeAsync(bool full, CancellationToken cancellationToken)
    {
        var bridge = Names.Bridge;
        var exists = LinkExists(bridge);
        if (exists && !full)
        {
            return;
        }

        if (!exists)
        {
            await HostCommand.RunCheckedAsync("ip", ["link", "add", bridge, "type", "bridge"], _timeout, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        DisableIpv6(bridge);
        await IpBatchAsync(null, null, [$"addr replace {_options.GatewayAddress}/32 dev {bridge}", $"link set {bridge} up"], cancellationToken)
            .ConfigureAwait(false);
    }

    private string LinkAddCommand(string machineId) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"link add {Names.HostLink(machineId)} address {Names.HostMac(machineId)} group {NetworkNames.MachineLinkGroup} type veth " +
            $"peer name eth0 address {Names.MachineMac(machineId)} netns {Names.Namespace(machineId)}");

    private string[] NamespaceCommands(string address, string machineId) =>
    [
        "link set lo up",
        $"addr replace {address}/32 dev eth0",
        "link set eth0 up",
        $"neigh replace {_options.GatewayAddress} lladdr {Names.HostMac(machineId)} dev eth0 nud permanent",
        $"route replace default via {_options.GatewayAddress} dev eth0 onlink",
    ];

    private string[] HostRouteCommands(string machineId, string address) =>
    [
        $"link set {Names.HostLink(machineId)} up",
        $"route replace {address}/32 dev {Names.HostLink(machineId)} src {_options.GatewayAddress}",
        $"neigh replace {address} lladdr {Names.MachineMac(machineId)} dev {Names.HostLink(machineId)} nud permanent",
    ];

    private static void DisableIpv6(string link)
    {
        var setting = $"/proc/sys/net/ipv6/conf/{link}/disable_ipv6";
        if (File.Exists(setting))
        {
            File.WriteAllText(setting, "1");
        }
    }

    private async Task IpBatchAsync(string? machineId, string? ns, IReadOnlyList<string> commands, CancellationToken cancellationToken)
    {
        var batch = WriteBatch(machineId ?? "shared", commands);
        try
        {
            string[] arguments = ns is null ? ["-batch", batch] : ["-n", ns, "-batch", batch];
            await HostCommand.RunCheckedAsync("ip", arguments, _timeout, machineId, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(batch);
        }
    }

    private async Task NftAsync(string? machineId, string rules, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_stateDirectory);
        var file = Path.Combine(_stateDirectory, $"rules-{Guid.NewGuid():N}.nft");
        await File.WriteAllTextAsync(file, rules, cancellationToken).ConfigureAwait(false);
        try
        {
            await HostCommand.RunCheckedAsync("nft", ["-f", file], _timeout, machineId, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private string WriteBatch(string name, IReadOnlyList<string> commands)
    {
        Directory.CreateDirectory(_stateDirectory);
        var file = Path.Combine(_stateDirectory, $"ip-{name}-{Guid.NewGuid():N}.batch");
        File.WriteAllText(file, string.Join('\n', commands) + "\n");
        return file;
    }
}
