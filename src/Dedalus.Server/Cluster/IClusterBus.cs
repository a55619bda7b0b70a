namespace Dedalus.Server.Cluster;

/// <summary>
/// The way nodes wake each other up after a write to the shared store. One node alone (the embedded store) needs none:
/// <see cref="LocalClusterBus"/>. With PostgreSQL it is LISTEN/NOTIFY on the database every node already shares, not a
/// mesh of connections between nodes.
/// </summary>
public interface IClusterBus
{
    /// <summary>Tells the other nodes; never blocks and never throws (a signal that cannot be sent is logged).</summary>
    void Send(ClusterSignal signal);

    /// <summary>Signals from the other nodes (never this node's own), and <see cref="ClusterSignalKind.Resync"/> when some may have been missed.</summary>
    IAsyncEnumerable<ClusterSignal> ReceiveAllAsync(CancellationToken cancellationToken);
}

/// <summary>One node, nobody to tell: sends go nowhere and nothing arrives.</summary>
public sealed class LocalClusterBus : IClusterBus
{
    public void Send(ClusterSignal signal)
    {
    }

    public async IAsyncEnumerable<ClusterSignal> ReceiveAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        yield break;
    }
}
