namespace Dedalus.Testing.Cluster;

/// <summary>
/// One node of a <see cref="ServerCluster"/>: its name (<c>--node-name</c>) and the capacity it offers to placement
/// (<c>--node-vcpu</c>, <c>--node-memory-mib</c>; null leaves the server's own default, taken from this host).
/// </summary>
public sealed record NodeSpec(string Name, double? Vcpu = null, long? MemoryMib = null)
{
    /// <summary>How many gateway ports the node gets (one per machine it may hold).</summary>
    public int GatewayPorts { get; init; } = 8;
}
