namespace Dedalus.Server.Store.Sqlite;

public sealed partial class SqliteStore
{
    public Task RecordConnectionAsync(ConnectionAudit audit, CancellationToken cancellationToken = default) =>
        WriteAsync(scope =>
        {
            scope.Execute(
                "INSERT INTO ssh_connections (machine_id, session_id, serial, peer, started_at, ended_at, bytes_in, bytes_out, end_reason, detail) " +
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                audit.MachineId, audit.SessionId, audit.Serial is { } serial ? unchecked((long)serial) : null, audit.Peer, Ms(audit.StartedAt), Ms(audit.EndedAt),
                audit.BytesIn, audit.BytesOut, audit.EndReason, audit.Detail);

            // A connection is activity until its end.
            return scope.Execute("UPDATE machines SET last_activity_at = max(last_activity_at, $2) WHERE id = $1", audit.MachineId, Ms(audit.EndedAt));
        }, transaction: true, cancellationToken);

    public async Task<bool> HasLiveSessionAsync(string machineId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(
            connection,
            "SELECT EXISTS (SELECT 1 FROM ssh_sessions WHERE machine_id = $1 AND status IN ('ready', 'wake_in_progress', 'ssh_in_progress') AND expires_at > $2)",
            machineId, Ms(now));
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) != 0;
    }
}
