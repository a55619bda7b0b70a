using Dedalus.Server.Hosting;
using Dedalus.Server.Machines;
using Dedalus.Server.Quotas;
using Dedalus.Server.Store;

namespace Dedalus.Server.Cluster;

/// <summary>
/// Registers this node in the store at start-up (before the reconciler adopts its machines) with its gateway and
/// capacity, then stamps it alive every <see cref="ServerOptions.NodeHeartbeatInterval"/> with the storage its disk can
/// back now, and refreshes the <see cref="NodeDirectory"/>. A node that another node sees as lost (or back) changes how
/// its machines read, so their watchers are told.
/// </summary>
public sealed class NodeHeartbeat(
    IStore store,
    LocalNode local,
    NodeDirectory directory,
    IHostResources host,
    Ssh.SshAuthority authority,
    MachineChangeFeed machineFeed,
    ServerOptions options,
    TimeProvider timeProvider,
    ILogger<NodeHeartbeat> logger) : IHostedService, IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<string> _lost = new(StringComparer.Ordinal);
    private Task _loop = Task.CompletedTask;
    private int _disposed;

    /// <summary>The capacity this node offers, from the options or the host.</summary>
    public NodeRecord Describe(DateTimeOffset now) => new()
    {
        Id = local.Id,
        Name = options.NodeName,
        GatewayHosts = options.GatewayHost,
        GatewayPortLow = options.GatewayPorts.Low,
        GatewayPortHigh = options.GatewayPorts.High,
        Vcpu = options.NodeVcpu ?? 4 * host.Cpus,
        MemoryMib = options.NodeMemoryMib ?? 2 * host.MemoryMib,
        StorageGib = host.MeasureStorage().BackedGib,
        StartedAt = now,
        HeartbeatAt = now,
        CaFingerprint = CaFingerprint(),
    };

    private string CaFingerprint()
    {
        var keys = authority.Current;
        return keys.UserCa.Fingerprint + " " + keys.HostMaster.Fingerprint;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var node = Describe(timeProvider.GetUtcNow());

        // A node with other CAs would sign certificates the other nodes' machines refuse, and trust none of theirs.
        foreach (var other in await store.ListNodesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (other.Id != node.Id && !directory.IsLost(other) && other.CaFingerprint != node.CaFingerprint)
            {
                throw new NodeConflictException(
                    $"node {other.Name} ({other.Id}), alive in the same database, signs with other CA keys ({other.CaFingerprint}) than this node " +
                    $"({node.CaFingerprint} in {Ssh.CaFiles.Of(options).Directory}): give every node the same CA directory (--ca-dir)");
            }
        }

        await store.RegisterNodeAsync(node, cancellationToken).ConfigureAwait(false);
        ServerLog.NodeRegistered(logger, node.Id, node.Name, node.GatewayHosts[0], node.GatewayPortLow, node.GatewayPortHigh, node.Vcpu, node.MemoryMib, node.StorageGib);
        directory.Update(await store.ListNodesAsync(cancellationToken).ConfigureAwait(false));
        _loop = Task.Run(() => BeatAsync(_stopping.Token), CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task BeatAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(options.NodeHeartbeatInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await BeatOnceAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    ServerLog.NodeHeartbeatFailed(logger, options.NodeHeartbeatInterval, ex);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One heartbeat: stamp, re-register when the row is gone, refresh the directory, tell watchers of lost or returned nodes.</summary>
    internal async Task BeatOnceAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (!await store.HeartbeatNodeAsync(local.Id, now, host.MeasureStorage().BackedGib, CaFingerprint(), cancellationToken).ConfigureAwait(false))
        {
            await store.RegisterNodeAsync(Describe(now), cancellationToken).ConfigureAwait(false);
        }

        var nodes = await store.ListNodesAsync(cancellationToken).ConfigureAwait(false);
        directory.Update(nodes);
        var changed = new List<string>();
        foreach (var node in nodes)
        {
            var lost = directory.IsLost(node);
            if (lost && _lost.Add(node.Id))
            {
                ServerLog.NodeLost(logger, node.Id, node.Name, node.HeartbeatAt);
                changed.Add(node.Id);
            }
            else if (!lost && _lost.Remove(node.Id))
            {
                ServerLog.NodeBack(logger, node.Id, node.Name);
                changed.Add(node.Id);
            }
        }

        if (changed.Count > 0)
        {
            foreach (var machine in await store.ListLiveMachinesAsync(cancellationToken).ConfigureAwait(false))
            {
                if (machine.NodeId is { } owner && changed.Contains(owner))
                {
                    machineFeed.Publish(machine.Id);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Registered as itself and as a hosted service: disposed twice.
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            _stopping.Dispose();
        }
    }
}
