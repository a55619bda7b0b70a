namespace Dedalus.Server.Store;

/// <summary>
/// A server node: one <c>dedalus-server</c> with its own host, data directory, runtime and gateway, registered in the
/// shared store. It owns the machines placed on it (<see cref="MachineRecord.NodeId"/>) and is the only one that drives
/// their runtime. The capacity is what placement may commit to machines on it; the heartbeat says it is alive.
/// </summary>
public sealed record NodeRecord
{
    public required string Id { get; init; }

    /// <summary>The operator's name for it (<c>--node-name</c>, default the host name); for people, not unique.</summary>
    public required string Name { get; init; }

    /// <summary>The names clients reach its gateway by, the first being a session's <c>connection.endpoint</c>.</summary>
    public required IReadOnlyList<string> GatewayHosts { get; init; }

    public required int GatewayPortLow { get; init; }

    public required int GatewayPortHigh { get; init; }

    /// <summary>vCPUs machines placed on it may have in all.</summary>
    public required double Vcpu { get; init; }

    /// <summary>MiB of memory machines placed on it may have in all.</summary>
    public required long MemoryMib { get; init; }

    /// <summary>GiB of storage its disk can back (measured at each heartbeat).</summary>
    public required long StorageGib { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public required DateTimeOffset HeartbeatAt { get; init; }

    /// <summary>
    /// The fingerprints of the user CA and of the host CA master the node signs with. Every node must have the same
    /// (a certificate signed by one node is checked by another's machines): a node whose CAs differ from a live
    /// node's refuses to start.
    /// </summary>
    public required string CaFingerprint { get; init; }

    /// <summary>How many machines its gateway port range holds.</summary>
    public int PortCount => GatewayPortHigh - GatewayPortLow + 1;
}

/// <summary>A node and what its machines that are not destroyed (phase) hold of it, read inside a machine insert's transaction.</summary>
public sealed record NodeLoad(NodeRecord Node, long Machines, double Vcpu, long MemoryMib, long StorageGib);

/// <summary>Where a new machine goes: its node, and that node's gateway port range (the lowest free port of it is taken).</summary>
public sealed record MachinePlacement(string NodeId, int PortLow, int PortHigh);
