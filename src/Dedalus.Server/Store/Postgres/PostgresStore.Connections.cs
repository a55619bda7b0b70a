using Dedalus.Server.Store.Sqlite;
using Npgsql;

namespace Dedalus.Server.Store.Postgres;

public sealed partial class PostgresStore
{
    /// <summary>Longest text kept in an audit row's free-form columns (the SQLite store's bound).</summary>
    public const int MaxConnectionAuditText = SqliteStore.MaxConnectionAuditText;

    public Task RecordConnectionAsync(ConnectionAudit audit, CancellationToken cancellationToken = default)
    {
        List<NpgsqlBatchCommand> statements =
        [
            Statement(
                "INSERT INTO ssh_connections (machine_id, session_id, serial, peer, started_at, ended_at, bytes_in, bytes_out, end_reason, detail) " +
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                audit.MachineId, Text(Bounded(audit.SessionId)), Int8(audit.Serial is { } serial ? unchecked((long)serial) : null), Bounded(audit.Peer),
                Ms(audit.StartedAt), Ms(audit.EndedAt), audit.BytesIn, audit.BytesOut, Bounded(audit.EndReason), Text(Bounded(audit.Detail))),

            // A connection is activity until its end.
            Statement("UPDATE machines SET last_activity_at = GREATEST(last_activity_at, $2) WHERE id = $1", audit.MachineId, Ms(audit.EndedAt)),
        ];
        if (audit.Live is { } live)
        {
            // Live or finished, never both: the live row goes in the same implicit transaction as the audit row.
            statements.Add(Statement("DELETE FROM ssh_live_connections WHERE node_id = $1 AND connection_id = $2", live.NodeId, live.ConnectionId));
        }

        return BatchAsync([.. statements], cancellationToken);
    }

    public Task<Page<ConnectionAudit>> ListConnectionHistoryAsync(string machineId, long before, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(before);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);

        // Through ssh_connections_machine_id (0011): the machine's rows by id, read backwards.
        return PageAsync(
            $"SELECT id, {StoreRows.ConnectionAuditColumns} FROM ssh_connections WHERE machine_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
            [machineId, before == 0 ? long.MaxValue : before, limit + 1L],
            limit,
            r => StoreRows.ReadConnectionAudit(r, 1),
            cancellationToken);
    }

    public Task ReplaceLiveConnectionsAsync(string nodeId, IReadOnlyList<LiveConnectionRecord> open, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        ArgumentNullException.ThrowIfNull(open);
        if (open.Any(c => c.NodeId != nodeId))
        {
            throw new ArgumentException($"every live connection must be of node {nodeId}", nameof(open));
        }

        // One round trip, one implicit transaction: readers see the node's old set or its new one.
        List<NpgsqlBatchCommand> statements = [Statement("DELETE FROM ssh_live_connections WHERE node_id = $1", nodeId)];
        foreach (var c in open)
        {
            statements.Add(Statement(
                "INSERT INTO ssh_live_connections (node_id, connection_id, machine_id, session_id, serial, peer, started_at, bytes_in, bytes_out, updated_at) " +
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                nodeId, c.ConnectionId, c.MachineId, Text(Bounded(c.SessionId)), Int8(c.Serial is { } serial ? unchecked((long)serial) : null), Bounded(c.Peer),
                Ms(c.StartedAt), c.BytesIn, c.BytesOut, Ms(c.UpdatedAt)));
        }

        return BatchAsync([.. statements], cancellationToken);
    }

    public async Task<IReadOnlyList<LiveConnectionRecord>> ListLiveConnectionsAsync(string machineId, CancellationToken cancellationToken = default) =>
        await QueryAsync(
            $"SELECT {StoreRows.LiveConnectionColumns} FROM ssh_live_connections WHERE machine_id = $1 ORDER BY started_at, node_id, connection_id",
            [machineId],
            StoreRows.ReadLiveConnection,
            cancellationToken).ConfigureAwait(false);

    public Task<ConnectionAuditTrim> TrimConnectionsAsync(DateTimeOffset endedBefore, int perMachine, int batch, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(perMachine);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        return WriteAsync(async scope =>
        {
            // One trim at a time across processes: two would delete the same rows and wait on each other's row locks.
            scope.LockGlobal(RetentionLock);

            // The per-machine counts come from triggers, so machines over the cap are an index range, not a scan.
            var over = await scope.QueryAsync(
                r => (MachineId: r.GetString(0), Rows: r.GetInt64(1)),
                Statement("SELECT machine_id, row_count FROM ssh_connection_counts WHERE row_count > $1 ORDER BY row_count DESC LIMIT $2", (long)perMachine, (long)batch))
                .ConfigureAwait(false);
            var left = batch;
            foreach (var (machineId, rows) in over)
            {
                if (left == 0)
                {
                    break;
                }

                // The machine's oldest rows, through its (machine_id, ended_at) index; ties keep the later insert.
                left -= await scope.ExecuteAsync(
                    "DELETE FROM ssh_connections WHERE id IN (SELECT id FROM ssh_connections WHERE machine_id = $1 ORDER BY ended_at, id LIMIT $2)",
                    machineId, Math.Min(rows - perMachine, left)).ConfigureAwait(false);
            }

            var overCap = batch - left;
            var expired = left == 0 ? 0 : await scope.ExecuteAsync(
                "DELETE FROM ssh_connections WHERE id IN (SELECT id FROM ssh_connections WHERE ended_at < $1 ORDER BY ended_at LIMIT $2)",
                Ms(endedBefore), (long)left).ConfigureAwait(false);
            return new ConnectionAuditTrim(overCap, expired);
        }, cancellationToken);
    }

    public async Task<bool> HasLiveSessionAsync(string machineId, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        await ScalarAsync(
            $"SELECT EXISTS (SELECT 1 FROM ssh_sessions WHERE machine_id = $1 AND {OpenSession} AND expires_at > $2)",
            [machineId, Ms(now)],
            cancellationToken).ConfigureAwait(false) is true;

    private static string? Bounded(string? text) =>
        text is not { Length: > MaxConnectionAuditText } ? text
        : text[..(char.IsHighSurrogate(text[MaxConnectionAuditText - 1]) ? MaxConnectionAuditText - 1 : MaxConnectionAuditText)];
}
