using Dedalus.Server.Cluster;
using Dedalus.Server.Errors;
using Dedalus.Server.Gateway;
using Dedalus.Server.Machines;
using Dedalus.Server.Store;

namespace Dedalus.Server.Connections;

/// <summary>
/// A machine's SSH connections for its org: the open ones and the finished ones (the gateway's audit). Any node answers:
/// the machine's own node reads its gateway (bytes as of now); another reads what the owner published in the store,
/// leaving out the rows of a lost node, whose connections went with it. Another org's machine is a 404, as on the API.
/// </summary>
public sealed class SshConnections(
    IStore store,
    MachineService machines,
    ILiveConnections gateway,
    LocalNode local,
    NodeDirectory nodes,
    TimeProvider timeProvider)
{
    /// <summary>History entries returned when the caller names no limit.</summary>
    public const int DefaultHistoryLimit = 50;

    /// <summary>Most history entries one call returns (a larger limit is lowered to it).</summary>
    public const int MaxHistoryLimit = 200;

    /// <summary>The machine's open connections, oldest first.</summary>
    /// <exception cref="DomainException">The machine is not the org's (not found), or its id is malformed.</exception>
    public async Task<LiveSshConnectionList> ListLiveAsync(string orgId, string machineId, CancellationToken cancellationToken = default)
    {
        var machine = await machines.GetAsync(orgId, machineId, cancellationToken).ConfigureAwait(false);
        if (local.Owns(machine.NodeId))
        {
            var now = Milliseconds(timeProvider.GetUtcNow());
            return new LiveSshConnectionList(
                [.. gateway.Open(machine.Id).Select(c => new LiveSshConnection(c.SessionId, c.PeerAddress, Milliseconds(c.StartedAt), c.BytesFromClient, c.BytesToClient, now))]);
        }

        var rows = await store.ListLiveConnectionsAsync(machine.Id, cancellationToken).ConfigureAwait(false);
        return new LiveSshConnectionList(
            [.. rows.Where(r => nodes.LostOwner(r.NodeId) is null).Select(r => new LiveSshConnection(r.SessionId, r.Peer, r.StartedAt, r.BytesIn, r.BytesOut, r.UpdatedAt))]);
    }

    /// <summary>Whole milliseconds, as the store keeps times: a connection reads the same through every node, live and finished.</summary>
    private static DateTimeOffset Milliseconds(DateTimeOffset time) => DateTimeOffset.FromUnixTimeMilliseconds(time.ToUnixTimeMilliseconds());

    /// <summary>
    /// The machine's last <paramref name="limit"/> finished connections (refused ones too), newest first; from the row
    /// before <paramref name="before"/> (a previous page's <see cref="Page{T}.NextAfter"/>; 0 for the newest).
    /// </summary>
    /// <exception cref="DomainException">The machine is not the org's (not found), its id is malformed, or the limit is below 1.</exception>
    public async Task<Page<FinishedSshConnection>> ListHistoryAsync(
        string orgId, string machineId, int limit = DefaultHistoryLimit, long before = 0, CancellationToken cancellationToken = default)
    {
        if (limit < 1)
        {
            throw DomainException.InvalidRequest($"limit must be an integer from 1 to {MaxHistoryLimit}", "limit");
        }

        if (before < 0)
        {
            throw DomainException.InvalidRequest("cursor is not valid", "cursor");
        }

        var machine = await machines.GetAsync(orgId, machineId, cancellationToken).ConfigureAwait(false);
        var page = await store.ListConnectionHistoryAsync(machine.Id, before, Math.Min(limit, MaxHistoryLimit), cancellationToken).ConfigureAwait(false);
        return new Page<FinishedSshConnection>(
            [.. page.Items.Select(a => new FinishedSshConnection(a.SessionId, a.Peer, a.StartedAt, a.EndedAt, a.BytesIn, a.BytesOut, a.EndReason, a.Detail))],
            page.NextAfter);
    }
}
