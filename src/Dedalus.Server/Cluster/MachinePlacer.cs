using System.Globalization;
using Dedalus.Server.Errors;
using Dedalus.Server.Hosting;
using Dedalus.Server.Quotas;
using Dedalus.Server.Store;

namespace Dedalus.Server.Cluster;

/// <summary>
/// Chooses the node of a new machine, inside the insert's transaction (so concurrent creates see each other's
/// machines). A node is a candidate when it is alive (heartbeat within <see cref="ServerOptions.NodeLostAfter"/>, or
/// this node) and, after the machine, its machines' vCPU, memory and storage stay within its capacity and its gateway
/// port range still has a port. Among candidates the machine goes where the tighter of vCPU and memory leaves the
/// largest share free, then to the node with fewer machines, then by id: machines spread across equal nodes, and a
/// big node takes more. This node's storage is measured at the request (<see cref="IHostResources"/>); another node's
/// is what it measured at its last heartbeat.
/// </summary>
public sealed class MachinePlacer(LocalNode local, ServerOptions options, IHostResources host, TimeProvider timeProvider, ILogger<MachinePlacer> logger)
{
    /// <summary>The placement function for a machine of this size; measures this host's storage now, outside the store's lock.</summary>
    public Func<IResourceReader, MachinePlacement> For(string orgId, string machineId, double vcpu, long memoryMib, long storageGib)
    {
        var localStorage = host.MeasureStorage();
        return reader =>
        {
            var now = timeProvider.GetUtcNow();
            var loads = reader.NodeLoads();
            var alive = loads.Where(l => local.Owns(l.Node.Id) || now - l.Node.HeartbeatAt <= options.NodeLostAfter).ToList();
            if (alive.Count == 0)
            {
                throw DomainException.Unavailable("no node is available to place the machine on: every node has stopped heartbeating");
            }

            long Capacity(NodeLoad l) => local.Owns(l.Node.Id) ? localStorage.BackedGib : l.Node.StorageGib;
            bool Fits(NodeLoad l) =>
                l.Vcpu + vcpu <= l.Node.Vcpu + 1e-9 && l.MemoryMib + memoryMib <= l.Node.MemoryMib && l.Machines < l.Node.PortCount;

            var roomy = alive.Where(Fits).ToList();
            var candidates = roomy.Where(l => l.StorageGib + storageGib <= Capacity(l)).ToList();
            if (candidates.Count == 0 && roomy.Count > 0)
            {
                // Storage is what stops it: the answer this host gave before there were nodes, for the node with the most free.
                var best = roomy.MaxBy(l => Capacity(l) - l.StorageGib)!;
                var capacity = Capacity(best);
                var explain = local.Owns(best.Node.Id)
                    ? localStorage.Explain()
                    : $"as node {best.Node.Name} measured at {best.Node.HeartbeatAt:O}";
                ServerLog.StorageRefused(logger, orgId, storageGib, best.StorageGib, capacity, explain);
                throw DomainException.InsufficientStorage(storageGib, best.StorageGib, capacity,
                    $"the host cannot back {storageGib} GiB more storage: {best.StorageGib} of the {capacity} GiB it can back are committed to machines " +
                    $"({explain}); ask for less storage_gib, or ask the operator to free disk space or raise the storage overcommit");
            }

            if (candidates.Count == 0)
            {
                if (alive.All(l => l.Machines >= l.Node.PortCount))
                {
                    throw DomainException.Unavailable(alive.Count == 1
                        ? $"no free gateway port in {alive[0].Node.GatewayPortLow}-{alive[0].Node.GatewayPortHigh}; destroy a machine or widen the range"
                        : "no node has a free gateway port; destroy a machine, widen a node's range or add a node");
                }

                var free = string.Join("; ", alive.Select(l =>
                    $"node {l.Node.Name} has {Number(l.Node.Vcpu - l.Vcpu)} of {Number(l.Node.Vcpu)} vCPU and {l.Node.MemoryMib - l.MemoryMib} of {l.Node.MemoryMib} MiB free"));
                throw DomainException.InsufficientCapacity(vcpu, memoryMib, storageGib,
                    $"no node has room for {Number(vcpu)} vCPU and {memoryMib} MiB: {free}; ask for a smaller machine, destroy one, or ask the operator to add a node");
            }

            var chosen = candidates
                .OrderByDescending(l => Math.Min(FreeShare(l.Node.Vcpu, l.Vcpu + vcpu), FreeShare(l.Node.MemoryMib, l.MemoryMib + memoryMib)))
                .ThenBy(l => l.Machines)
                .ThenBy(l => l.Node.Id, StringComparer.Ordinal)
                .First().Node;
            ServerLog.MachinePlaced(logger, machineId, chosen.Id, chosen.Name, chosen.GatewayPortLow, chosen.GatewayPortHigh);
            return new MachinePlacement(chosen.Id, chosen.GatewayPortLow, chosen.GatewayPortHigh);
        };
    }

    private static double FreeShare(double capacity, double used) => capacity <= 0 ? 0 : (capacity - used) / capacity;

    private static string Number(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
