using System.Data.Common;

namespace Dedalus.Server.Store.Sqlite;

public sealed partial class SqliteStore
{
    private const string SessionColumns =
        "seq, id, org_id, machine_id, status, public_key, serial, certificate, created_at, ready_at, expires_at, closed_at, error_code, error_message";

    public Task<long> InsertSessionAsync(SessionRecord session, Action<IResourceReader>? admit = null, CancellationToken cancellationToken = default) =>
        WriteAsync(scope =>
        {
            admit?.Invoke(new ResourceReader(scope.Command));
            scope.Execute(
                "INSERT INTO ssh_sessions (id, org_id, machine_id, status, public_key, serial, certificate, created_at, ready_at, expires_at, closed_at, error_code, error_message) " +
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                session.Id, session.OrgId, session.MachineId, session.Status, session.PublicKey, unchecked((long)session.Serial), session.Certificate,
                Ms(session.CreatedAt), Ms(session.ReadyAt), Ms(session.ExpiresAt), Ms(session.ClosedAt), session.ErrorCode, session.ErrorMessage);

            // Creating a session is activity: it keeps the machine from autosleeping. The machine's revision, read in
            // the same transaction, tells the caller whether the machine moved since it decided the session's status.
            return scope.Scalar("UPDATE machines SET last_activity_at = max(last_activity_at, $2) WHERE id = $1 RETURNING revision", session.MachineId, Ms(session.CreatedAt))
                is long revision ? revision : -1;
        }, transaction: true, cancellationToken);

    public async Task<SessionRecord?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(connection, $"SELECT {SessionColumns} FROM ssh_sessions WHERE id = $1", sessionId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadSession(reader) : null;
    }

    public async Task<Page<SessionRecord>> ListSessionsAsync(string machineId, long after, int limit, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(connection, $"SELECT {SessionColumns} FROM ssh_sessions WHERE machine_id = $1 AND seq > $2 ORDER BY seq LIMIT $3", machineId, after, limit + 1);
        return await ReadPageAsync(command, limit, ReadSession, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<SessionRecord>> ListLiveSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        // The partial index ssh_sessions_open (status, expires_at) covers the filter.
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(
            connection,
            $"SELECT {SessionColumns} FROM ssh_sessions WHERE status IN ('ready', 'wake_in_progress', 'ssh_in_progress') AND expires_at > $1 AND certificate IS NOT NULL ORDER BY seq",
            Ms(now));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var sessions = new List<SessionRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            sessions.Add(ReadSession(reader));
        }

        return sessions;
    }

    public Task<int> MarkSessionsReadyAsync(string machineId, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        WriteAsync(
            scope => scope.Execute(
                "UPDATE ssh_sessions SET status = 'ready', ready_at = $2 WHERE machine_id = $1 AND status IN ('wake_in_progress', 'ssh_in_progress') AND expires_at > $2",
                machineId, Ms(now)),
            transaction: false,
            cancellationToken);

    public Task<int> MarkSessionsWaitingAsync(string machineId, string status, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        WriteAsync(
            scope => scope.Execute(
                "UPDATE ssh_sessions SET status = $2 WHERE machine_id = $1 AND status IN ('wake_in_progress', 'ssh_in_progress') AND status <> $2 AND expires_at > $3",
                machineId, status, Ms(now)),
            transaction: false,
            cancellationToken);

    public Task<int> FailWaitingSessionsAsync(string machineId, string errorCode, string errorMessage, CancellationToken cancellationToken = default) =>
        WriteAsync(
            scope => scope.Execute(
                "UPDATE ssh_sessions SET status = 'failed', error_code = $2, error_message = $3 WHERE machine_id = $1 AND status IN ('wake_in_progress', 'ssh_in_progress')",
                machineId, errorCode, errorMessage),
            transaction: false,
            cancellationToken);

    public Task<int> EndMachineSessionsAsync(string machineId, DateTimeOffset now, string errorCode, string errorMessage, CancellationToken cancellationToken = default) =>
        WriteAsync(scope =>
        {
            // Revoke first (the status filter below would no longer find them): a certificate already handed out must not outlive its machine.
            var revoked = scope.Execute(
                "INSERT OR IGNORE INTO revocations (serial, session_id, revoked_at, expires_at) " +
                "SELECT serial, id, $2, expires_at FROM ssh_sessions WHERE machine_id = $1 AND status IN ('ready', 'wake_in_progress', 'ssh_in_progress') AND certificate IS NOT NULL AND expires_at > $2",
                machineId, Ms(now));
            scope.Execute(
                "UPDATE ssh_sessions SET status = CASE status WHEN 'ready' THEN 'closed' ELSE 'failed' END, closed_at = CASE status WHEN 'ready' THEN $2 ELSE closed_at END, " +
                "error_code = $3, error_message = $4 WHERE machine_id = $1 AND status IN ('ready', 'wake_in_progress', 'ssh_in_progress')",
                machineId, Ms(now), errorCode, errorMessage);
            return revoked;
        }, transaction: true, cancellationToken);

    public Task<int> ExpireSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken = default) =>
        WriteAsync(
            scope => scope.Execute("UPDATE ssh_sessions SET status = 'expired' WHERE status IN ('ready', 'wake_in_progress', 'ssh_in_progress') AND expires_at <= $1", Ms(now)),
            transaction: false,
            cancellationToken);

    public Task<bool> CloseSessionAsync(string sessionId, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        WriteAsync(scope =>
        {
            var changed = scope.Execute("UPDATE ssh_sessions SET status = 'closed', closed_at = $2 WHERE id = $1 AND status IN ('ready', 'wake_in_progress', 'ssh_in_progress')", sessionId, Ms(now));
            if (changed == 0)
            {
                return false;
            }

            scope.Execute(
                "INSERT OR IGNORE INTO revocations (serial, session_id, revoked_at, expires_at) SELECT serial, id, $2, expires_at FROM ssh_sessions WHERE id = $1",
                sessionId, Ms(now));
            return true;
        }, transaction: true, cancellationToken);

    public async Task<IReadOnlyList<ulong>> ListRevokedSerialsAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(connection, "SELECT serial FROM revocations WHERE expires_at > $1 ORDER BY serial", Ms(now));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var serials = new List<ulong>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            serials.Add(unchecked((ulong)reader.GetInt64(0)));
        }

        return serials;
    }

    private static SessionRecord ReadSession(DbDataReader r) => StoreRows.ReadSession(r);
}
