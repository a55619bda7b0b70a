using System.Data.Common;
using Npgsql;

namespace Dedalus.Server.Store.Postgres;

public sealed partial class PostgresStore
{
    private const string SessionColumns =
        "seq, id, org_id, machine_id, status, public_key, serial, certificate, created_at, ready_at, expires_at, closed_at, error_code, error_message";

    private const string OpenSession = "status IN ('ready', 'wake_in_progress', 'ssh_in_progress')";

    private const string WaitingSession = "status IN ('wake_in_progress', 'ssh_in_progress')";

    public Task<long> InsertSessionAsync(SessionRecord session, Action<IResourceReader>? admit = null, CancellationToken cancellationToken = default) =>
        admit is null ? InsertUnadmittedSessionAsync(session, cancellationToken) : InsertAdmittedSessionAsync(session, admit, cancellationToken);

    /// <summary>
    /// A session nothing has to admit (its org has no session limit): one round trip, one implicit transaction, no org
    /// lock, so creates run in parallel. The machine's row is updated first: its row lock, held to the commit, orders
    /// the sessions of one machine, so their <c>seq</c> (taken by the insert after it) is their commit order and a page
    /// cursor never passes over one that commits late.
    /// </summary>
    private Task<long> InsertUnadmittedSessionAsync(SessionRecord session, CancellationToken cancellationToken) =>
        ReadAsync(
            async connection =>
            {
                await using var batch = new NpgsqlBatch(connection);
                batch.BatchCommands.Add(Statement(
                    "UPDATE machines SET last_activity_at = GREATEST(last_activity_at, $2) WHERE id = $1 RETURNING revision",
                    session.MachineId, Ms(session.CreatedAt)));
                batch.BatchCommands.Add(SessionInsert(session));
                await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                var revision = await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? reader.GetInt64(0) : -1;
                while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
                {
                }

                return revision;
            },
            cancellationToken);

    private static NpgsqlBatchCommand SessionInsert(SessionRecord session) =>
        Statement(
            "INSERT INTO ssh_sessions (id, org_id, machine_id, status, public_key, serial, certificate, created_at, ready_at, expires_at, closed_at, error_code, error_message) " +
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            session.Id, session.OrgId, session.MachineId, session.Status, session.PublicKey, unchecked((long)session.Serial), Text(session.Certificate),
            Ms(session.CreatedAt), Ms(session.ReadyAt), Ms(session.ExpiresAt), Ms(session.ClosedAt), Text(session.ErrorCode), Text(session.ErrorMessage));

    private Task<long> InsertAdmittedSessionAsync(SessionRecord session, Action<IResourceReader> admit, CancellationToken cancellationToken) =>
        // The org lock: the sessions quota counts this org's sessions, and the machine's session list pages by seq.
        WriteAsync(session.OrgId, async scope =>
        {
            await scope.AdmitAsync(admit).ConfigureAwait(false);

            // Creating a session is activity: it keeps the machine from autosleeping. The machine's revision, read in
            // the same transaction, tells the caller whether the machine moved since it decided the session's status.
            var revision = await scope.ScalarAsync(
                SessionInsert(session),
                Statement(
                    "UPDATE machines SET last_activity_at = GREATEST(last_activity_at, $2) WHERE id = $1 RETURNING revision",
                    session.MachineId, Ms(session.CreatedAt))).ConfigureAwait(false);
            return revision is long value ? value : -1;
        }, cancellationToken);

    public Task<SessionRecord?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        QuerySingleAsync($"SELECT {SessionColumns} FROM ssh_sessions WHERE id = $1", [sessionId], ReadSession, cancellationToken);

    public Task<Page<SessionRecord>> ListSessionsAsync(string machineId, long after, int limit, CancellationToken cancellationToken = default) =>
        PageAsync(
            $"SELECT {SessionColumns} FROM ssh_sessions WHERE machine_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            [machineId, after, limit + 1L],
            limit,
            ReadSession,
            cancellationToken);

    public async Task<IReadOnlyList<SessionRecord>> ListLiveSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken = default) =>
        // The partial index ssh_sessions_open (status, expires_at) covers the filter.
        await QueryAsync(
            $"SELECT {SessionColumns} FROM ssh_sessions WHERE {OpenSession} AND expires_at > $1 AND certificate IS NOT NULL ORDER BY seq",
            [Ms(now)],
            ReadSession,
            cancellationToken).ConfigureAwait(false);

    public Task<int> MarkSessionsReadyAsync(string machineId, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        ExecuteAsync(
            $"UPDATE ssh_sessions SET status = 'ready', ready_at = $2 WHERE machine_id = $1 AND {WaitingSession} AND expires_at > $2",
            [machineId, Ms(now)],
            cancellationToken);

    public Task<int> MarkSessionsWaitingAsync(string machineId, string status, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        ExecuteAsync(
            $"UPDATE ssh_sessions SET status = $2 WHERE machine_id = $1 AND {WaitingSession} AND status <> $2 AND expires_at > $3",
            [machineId, status, Ms(now)],
            cancellationToken);

    public Task<int> FailWaitingSessionsAsync(string machineId, string errorCode, string errorMessage, CancellationToken cancellationToken = default) =>
        ExecuteAsync(
            $"UPDATE ssh_sessions SET status = 'failed', error_code = $2, error_message = $3 WHERE machine_id = $1 AND {WaitingSession}",
            [machineId, errorCode, errorMessage],
            cancellationToken);

    public async Task<int> EndMachineSessionsAsync(string machineId, DateTimeOffset now, string errorCode, string errorMessage, CancellationToken cancellationToken = default) =>
        // One batch, one implicit transaction. Revoke first (the status filter below would no longer find them): a
        // certificate already handed out must not outlive its machine.
        (await BatchAsync(
            [
                Statement(
                    "INSERT INTO revocations (serial, session_id, revoked_at, expires_at) " +
                    $"SELECT serial, id, $2, expires_at FROM ssh_sessions WHERE machine_id = $1 AND {OpenSession} AND certificate IS NOT NULL AND expires_at > $2 " +
                    "ON CONFLICT (serial) DO NOTHING",
                    machineId, Ms(now)),
                Statement(
                    "UPDATE ssh_sessions SET status = CASE status WHEN 'ready' THEN 'closed' ELSE 'failed' END, closed_at = CASE status WHEN 'ready' THEN $2 ELSE closed_at END, " +
                    $"error_code = $3, error_message = $4 WHERE machine_id = $1 AND {OpenSession}",
                    machineId, Ms(now), errorCode, errorMessage),
            ],
            cancellationToken).ConfigureAwait(false))[0];

    public Task<int> ExpireSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken = default) =>
        ExecuteAsync($"UPDATE ssh_sessions SET status = 'expired' WHERE {OpenSession} AND expires_at <= $1", [Ms(now)], cancellationToken);

    public async Task<bool> CloseSessionAsync(string sessionId, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        // One statement: the revocation is written only when the close changed the session.
        await ScalarAsync(
            $"WITH closed AS (UPDATE ssh_sessions SET status = 'closed', closed_at = $2 WHERE id = $1 AND {OpenSession} RETURNING serial, id, expires_at), " +
            "revoked AS (INSERT INTO revocations (serial, session_id, revoked_at, expires_at) SELECT serial, id, $2, expires_at FROM closed ON CONFLICT (serial) DO NOTHING) " +
            "SELECT count(*) FROM closed",
            [sessionId, Ms(now)],
            cancellationToken).ConfigureAwait(false) is 1L;

    public async Task<IReadOnlyList<ulong>> ListRevokedSerialsAsync(DateTimeOffset now, CancellationToken cancellationToken = default) =>
        await QueryAsync("SELECT serial FROM revocations WHERE expires_at > $1 ORDER BY serial", [Ms(now)], r => unchecked((ulong)r.GetInt64(0)), cancellationToken)
            .ConfigureAwait(false);

    private static SessionRecord ReadSession(DbDataReader r) => StoreRows.ReadSession(r);
}
