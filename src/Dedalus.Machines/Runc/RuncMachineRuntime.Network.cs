using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Dedalus.Machines.Network;
using Dedalus.Machines.Runtime;

namespace Dedalus.Machines.Runc;

/// <summary>
/// Machine networking (when <see cref="RuncRuntimeOptions.Network"/> is set; see <see cref="HostNetwork"/>): a
/// machine with a network in its record gets, at every start, an interface in its network namespace, NAT, the
/// instance's DNS forwarder and its egress policy in the instance's nft table; at every sleep and at deletion its
/// links and the namespace's name go.
/// </summary>
public sealed partial class RuncMachineRuntime
{
    /// <inheritdoc />
    /// <remarks>
    /// Kept in <c>machine.json</c>. On a running machine the table is rendered again at once (a policy applies to the
    /// next packet, open connections included) and a new address replaces the old on its interface; a machine started
    /// without a network gets it at its next start.
    /// </remarks>
    /// <exception cref="ArgumentException">The address is outside the subnet, reserved or another machine's.</exception>
    public async Task ConfigureNetworkAsync(string machineId, MachineNetwork network, CancellationToken cancellationToken = default)
    {
        var host = RequireNetwork();
        var paths = PathsOf(machineId);
        using (await LockAsync(machineId, cancellationToken).ConfigureAwait(false))
        {
            var record = ReadRecord(machineId, paths);
            ValidateNetwork(machineId, network, host.Options);
            var previous = record.Network?.ToNetwork();
            WriteRecord(paths, record with { Network = MachineNetworkRecord.From(network) });
            if (previous is null || await _runc.StatusAsync(machineId, cancellationToken).ConfigureAwait(false) != "running")
            {
                return;
            }

            if (!previous.Address.Equals(network.Address))
            {
                await host.ReaddressAsync(machineId, previous, network, cancellationToken).ConfigureAwait(false);
            }

            await host.ApplyRulesAsync(NetworkedMachines, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// At server start: the shared parts made or checked (bridge, table rendered again from every machine's record,
    /// IP forwarding, the DNS forwarder adopted or restarted) and, for every running machine, a missing namespace name or
    /// veth pair made again. No-op without networking.
    /// </summary>
    public async Task RestoreNetworkAsync(CancellationToken cancellationToken = default)
    {
        if (_network is not { } host)
        {
            return;
        }

        host.Forwarder.Adopt();
        await host.EnsureSharedAsync(NetworkedMachines, full: true, cancellationToken).ConfigureAwait(false);
        foreach (var machine in NetworkedMachines())
        {
            using (await LockAsync(machine.MachineId, cancellationToken).ConfigureAwait(false))
            {
                if (await _runc.StatusAsync(machine.MachineId, cancellationToken).ConfigureAwait(false) == "running")
                {
                    var pid = await _runc.InitPidAsync(machine.MachineId, cancellationToken).ConfigureAwait(false);
                    await host.RepairAsync(machine.MachineId, machine.Network, pid, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// At server stop, once every machine sleeps: the DNS forwarder, the nft table, the bridge and any namespace or link
    /// of this instance removed, IP forwarding turned off again when Dedalus turned it on and no other instance needs it.
    /// While a machine with a network still runs, nothing is removed (that would cut it off) and a warning is logged.
    /// No-op without networking; idempotent.
    /// </summary>
    public async Task ShutdownNetworkAsync(CancellationToken cancellationToken = default)
    {
        if (_network is not { } host)
        {
            return;
        }

        var machines = NetworkedMachines();
        var running = 0;
        foreach (var machine in machines)
        {
            if (await _runc.StatusAsync(machine.MachineId, cancellationToken).ConfigureAwait(false) == "running")
            {
                running++;
            }
        }

        if (running > 0)
        {
            NetworkLog.ShutdownSkipped(_logger, host.Options.Instance, running);
            return;
        }

        await host.ShutdownAsync([.. machines.Select(m => m.MachineId)], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The host's shared parts (bridge, this instance's table, forwarding, the DNS forwarder) for a machine with a
    /// network, made or checked at each start while its files are mounted; the machine's own chain is in the table
    /// from its creation (the table is rendered from every machine's record).
    /// </summary>
    private Task EnsureHostNetworkAsync(MachineManifest record, CancellationToken cancellationToken) =>
        _network is { } host && record.Network is not null
            ? host.EnsureSharedAsync(NetworkedMachines, full: false, cancellationToken)
            : Task.CompletedTask;

    /// <summary>
    /// Right after <c>runc run</c> (only the init runs, the machine's network namespace holds loopback) and
    /// <see cref="EnsureHostNetworkAsync"/>: the machine's links, address and routes, before the start returns.
    /// </summary>
    private async Task NetworkUpAsync(string machineId, MachineManifest record, CancellationToken cancellationToken)
    {
        if (_network is not { } host || record.Network is null)
        {
            return;
        }

        var pid = await _runc.InitPidAsync(machineId, cancellationToken).ConfigureAwait(false);
        if (pid <= 0)
        {
            throw new MachineRuntimeException(machineId, "the machine's init is gone right after its start: no network namespace to configure");
        }

        await host.UpAsync(machineId, record.Network.ToNetwork(), pid, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>After <c>runc delete</c> and the unmounts: the machine's links and namespace name, whatever its record says.</summary>
    private Task NetworkDownAsync(string machineId, CancellationToken cancellationToken) =>
        _network is { } host ? host.DownAsync(machineId, cancellationToken) : Task.CompletedTask;

    /// <summary>After a deletion: the machine's chain out of the table, if the table is there.</summary>
    private async Task NetworkForgetAsync(CancellationToken cancellationToken)
    {
        if (_network is { } host && (await host.DedalusTablesAsync(cancellationToken).ConfigureAwait(false)).Contains(host.Names.Table))
        {
            await host.ApplyRulesAsync(NetworkedMachines, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The resolver the machine's /etc/resolv.conf names; null without a network.</summary>
    private IPAddress? ResolverOf(MachineManifest record) =>
        _network is { } host && record.Network is not null ? host.Options.GatewayAddress : null;

    private HostNetwork RequireNetwork() =>
        _network ?? throw new NotSupportedException("machine networking is off in this runtime (RuncRuntimeOptions.Network is not set)");

    /// <summary>Every provisioned machine with a network in its record, running or not.</summary>
    private IReadOnlyList<NetworkedMachine> NetworkedMachines()
    {
        var machines = new List<NetworkedMachine>();
        if (!Directory.Exists(_options.MachinesDirectory))
        {
            return machines;
        }

        foreach (var directory in Directory.EnumerateDirectories(_options.MachinesDirectory).Order(StringComparer.Ordinal))
        {
            var machineId = Path.GetFileName(directory);
            var paths = new MachinePaths(_options.MachinesDirectory, machineId);
            try
            {
                if (File.Exists(paths.Record) && ReadRecord(machineId, paths).Network is { } network)
                {
                    machines.Add(new NetworkedMachine(machineId, network.ToNetwork()));
                }
            }
            catch (MachineNotFoundException)
            {
                // Deleted meanwhile.
            }
        }

        return machines;
    }

    /// <summary>An IPv4 address inside the subnet, neither its network, gateway nor broadcast address, and no other machine's.</summary>
    private void ValidateNetwork(string machineId, MachineNetwork network, MachineNetworkOptions options)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(network.Address);
        ArgumentNullException.ThrowIfNull(network.Policy);
        ArgumentNullException.ThrowIfNull(network.Policy.AllowCidrs);
        ArgumentNullException.ThrowIfNull(network.Policy.DenyCidrs);
        var address = network.Address;
        if (address.AddressFamily != AddressFamily.InterNetwork || !options.Subnet.Contains(address))
        {
            throw new ArgumentException($"invalid machine address {address}: not inside the machine subnet {options.Subnet}", nameof(network));
        }

        var hostMask = (1u << (32 - options.Subnet.PrefixLength)) - 1;
        var hostPart = BinaryPrimitives.ReadUInt32BigEndian(address.GetAddressBytes()) & hostMask;
        if (hostPart == 0 || hostPart == hostMask || address.Equals(options.GatewayAddress))
        {
            throw new ArgumentException(
                $"invalid machine address {address}: the subnet's network, gateway ({options.GatewayAddress}) or broadcast address", nameof(network));
        }

        if (NetworkedMachines().FirstOrDefault(m => m.MachineId != machineId && m.Network.Address.Equals(address)) is { } other)
        {
            throw new ArgumentException($"invalid machine address {address}: machine {other.MachineId} has it", nameof(network));
        }
    }
}
