using Dedalus.Server.Hosting;
using Dedalus.Server.Store;

namespace Dedalus.Server.Cluster;

/// <summary>
/// The nodes as last read from the store (the heartbeat refreshes it), and which of them are lost: silent for longer
/// than <see cref="ServerOptions.NodeLostAfter"/>. This node is never lost to itself. Reads are lock-free snapshots.
/// </summary>
public sealed class NodeDirectory(LocalNode local, ServerOptions options, TimeProvider timeProvider)
{
    private IReadOnlyDictionary<string, NodeRecord> _nodes = new Dictionary<string, NodeRecord>(StringComparer.Ordinal);

    public IReadOnlyCollection<NodeRecord> Nodes => Volatile.Read(ref _nodes).Values.ToList();

    public NodeRecord? Find(string? nodeId) =>
        nodeId is not null && Volatile.Read(ref _nodes).TryGetValue(nodeId, out var node) ? node : null;

    /// <summary>Whether <paramref name="node"/> has stopped heartbeating.</summary>
    public bool IsLost(NodeRecord node) =>
        !local.Owns(node.Id) && timeProvider.GetUtcNow() - node.HeartbeatAt > options.NodeLostAfter;

    /// <summary>The lost node that owns a machine of <paramref name="nodeId"/>, or null when its node is alive (or unknown yet).</summary>
    public NodeRecord? LostOwner(string? nodeId) => Find(nodeId) is { } node && IsLost(node) ? node : null;

    public void Update(IReadOnlyList<NodeRecord> nodes) =>
        Volatile.Write(ref _nodes, nodes.ToDictionary(n => n.Id, StringComparer.Ordinal));
}
