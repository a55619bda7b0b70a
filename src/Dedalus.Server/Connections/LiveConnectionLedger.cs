using Dedalus.Gateway;
using Dedalus.Server.Cluster;
using Dedalus.Server.Store;

namespace Dedalus.Server.Connections;

/// <summary>
/// The one writer of this node's rows in <c>ssh_live_connections</c>, and of the audit row that ends each of them. Both
/// kinds of write take one gate, in this process: a tick that read a connection as open writes it before that
/// connection's end deletes it, and a tick that starts after the end no longer finds it in the gateway (the gateway drops
/// a connection from its tables before it records its end). Without the gate a tick could write back the row of a
/// connection that had just ended, listing it live and finished at once until the next tick.
/// </summary>
/// <remarks>
/// The gate orders this node's writes only; rows are per node, so nodes never contend. On SQLite every write is
/// serialised anyway; on PostgreSQL it serialises the ends of one node's connections, a few milliseconds each.
/// </remarks>
public sealed class LiveConnectionLedger(IStore store, LocalNode local, TimeProvider timeProvider) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IReadOnlyList<GatewayConnectionSnapshot>? _published;

    /// <summary>
    /// Writes what <paramref name="snapshot"/> reads (taken under the gate) as this node's whole set of live connections;
    /// nothing when it is what the last write wrote. The first call after start always writes, so it also deletes the
    /// rows this node left when it stopped or crashed.
    /// </summary>
    /// <returns>Whether it wrote.</returns>
    public async Task<bool> PublishAsync(Func<IReadOnlyList<GatewayConnectionSnapshot>> snapshot, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var open = snapshot();
            if (_published is { } last && last.SequenceEqual(open))
            {
                return false;
            }

            var now = timeProvider.GetUtcNow();
            var rows = open.Select(c => new LiveConnectionRecord(
                local.Id, c.ConnectionId, c.MachineId, c.SessionId, c.Serial, c.PeerAddress, c.StartedAt, c.BytesFromClient, c.BytesToClient, now)).ToList();

            // Forgotten first: a write that fails leaves the next tick to write again whatever it finds.
            _published = null;
            await store.ReplaceLiveConnectionsAsync(local.Id, rows, cancellationToken).ConfigureAwait(false);
            _published = open;
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stores the audit row of a connection that ended and deletes its live row, in one transaction.</summary>
    public async Task RecordEndedAsync(ConnectionAudit audit, long connectionId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(audit);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await store.RecordConnectionAsync(audit with { Live = new LiveConnectionKey(local.Id, connectionId) }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();
}
