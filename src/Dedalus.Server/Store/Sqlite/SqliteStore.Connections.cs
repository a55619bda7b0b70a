namespace Dedalus.Server.Store.Sqlite;

public sealed partial class SqliteStore
{
    /// <summary>
    /// Longest text kept in an audit row's free-form columns: the row count is bounded by the trim, and this bounds each
    /// row, whatever a client or the machine's sshd put into a refusal's detail.
    /// </summary>
    public const int MaxConnectionAuditText = 1024;

    public Task RecordConnectionAsync(ConnectionAudit audit, CancellationToken cancellationToken = default) =>
        WriteAsync(scope =>
        {
            scope.Execute(
                "INSERT INTO ssh_connections (machine_id, session_id, serial, peer, started_at, ended_at, bytes_in, bytes_out, end_reason, detail) " +
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                audit.MachineId, Bounded(audit.SessionId), audit.Serial is { } serial ? unchecked((long)serial) : null, Bounded(audit.Peer), Ms(audit.StartedAt), Ms(audit.EndedAt),
                audit.BytesIn, audit.BytesOut, Bounded(audit.EndReason), Bounded(audit.Detail));

            if (audit.Live is { } live)
            {
                // Live or finished, never both: the live row goes in the transaction that writes the audit row.
                scope.Execute("DELETE FROM ssh_live_connections WHERE node_id = $1 AND connection_id = $2", live.NodeId, live.ConnectionId);
            }

            // A connection is activity until its end.
            return scope.Execute("UPDATE machines SET last_activity_at = max(last_activity_at, $2) WHERE id = $1", audit.MachineId, Ms(audit.EndedAt));
        }, transaction: true, cancellationToken);

    public async Task<Page<ConnectionAudit>> ListConnectionHistoryAsync(string machineId, long before, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(before);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);

        // Through ssh_connections_machine_id (0011): the machine's rows by id, read backwards.
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(
            connection,
            $"SELECT id, {StoreRows.ConnectionAuditColumns} FROM ssh_connections WHERE machine_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
            machineId, before == 0 ? long.MaxValue : before, limit + 1);
        return await ReadPageAsync(command, limit, r => StoreRows.ReadConnectionAudit(r, 1), cancellationToken).ConfigureAwait(false);
    }

    public Task ReplaceLiveConnectionsAsync(string nodeId, IReadOnlyList<LiveConnectionRecord> open, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        ArgumentNullException.ThrowIfNull(open);
        if (open.Any(c => c.NodeId != nodeId))
        {
            throw new ArgumentException($"every live connection must be of node {nodeId}", nameof(open));
        }

        return WriteAsync(scope =>
        {
            scope.Execute("DELETE FROM ssh_live_connections WHERE node_id = $1", nodeId);
            foreach (var c in open)
            {
                scope.Execute(
                    "INSERT INTO ssh_live_connections (node_id, connection_id, machine_id, session_id, serial, peer, started_at, bytes_in, bytes_out, updated_at) " +
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    nodeId, c.ConnectionId, c.MachineId, Bounded(c.SessionId), c.Serial is { } serial ? unchecked((long)serial) : null, Bounded(c.Peer),
                    Ms(c.StartedAt), c.BytesIn, c.BytesOut, Ms(c.UpdatedAt));
            }

            return open.Count;
        }, transaction: true, cancellationToken);
    }

    public async Task<IReadOnlyList<LiveConnectionRecord>> ListLiveConnectionsAsync(string machineId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(
            connection,
            $"SELECT {StoreRows.LiveConnectionColumns} FROM ssh_live_connections WHERE machine_id = $1 ORDER BY started_at, node_id, connection_id",
            machineId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<LiveConnectionRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(StoreRows.ReadLiveConnection(reader));
        }

        return rows;
    }

    public Task<ConnectionAuditTrim> TrimConnectionsAsync(DateTimeOffset endedBefore, int perMachine, int batch, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(perMachine);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        return WriteAsync(scope =>
        {
            // The per-machine counts come from triggers (0005), so machines over the cap are an index range, not a scan.
            var over = new List<(string MachineId, long Rows)>();
            using (var reader = scope.Command(
                "SELECT machine_id, row_count FROM ssh_connection_counts WHERE row_count > $1 ORDER BY row_count DESC LIMIT $2", perMachine, batch).ExecuteReader())
            {
                while (reader.Read())
                {
                    over.Add((reader.GetString(0), reader.GetInt64(1)));
                }
            }

            var left = batch;
            foreach (var (machineId, rows) in over)
            {
                if (left == 0)
                {
                    break;
                }

                // The machine's oldest rows, through its (machine_id, ended_at) index; ties keep the later insert.
                left -= scope.Execute(
                    "DELETE FROM ssh_connections WHERE id IN (SELECT id FROM ssh_connections WHERE machine_id = $1 ORDER BY ended_at, id LIMIT $2)",
                    machineId, (int)Math.Min(rows - perMachine, left));
            }

            var overCap = batch - left;
            var expired = left == 0 ? 0 : scope.Execute(
                "DELETE FROM ssh_connections WHERE id IN (SELECT id FROM ssh_connections WHERE ended_at < $1 ORDER BY ended_at LIMIT $2)",
                Ms(endedBefore), left);
            return new ConnectionAuditTrim(overCap, expired);
        }, transaction: true, cancellationToken);
    }

    public async Task<bool> HasLiveSessionAsync(string machineId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(
            connection,
            "SELECT EXISTS (SELECT 1 FROM ssh_sessions WHERE machine_id = $1 AND status IN ('ready', 'wake_in_progress', 'ssh_in_progress') AND expires_at > $2)",
            machineId, Ms(now));
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) != 0;
    }

    private static string? Bounded(string? text) =>
        text is not { Length: > MaxConnectionAuditText } ? text
        : text[..(char.IsHighSurrogate(text[MaxConnectionAuditText - 1]) ? MaxConnectionAuditText - 1 : MaxConnectionAuditText)];
}
