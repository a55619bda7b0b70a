using System.Data.Common;

namespace Dedalus.Server.Store.Sqlite;

public sealed partial class SqliteStore
{
    private const string ConsoleSessionColumns =
        "s.id, s.token_hash, s.org_id, s.api_key_hash, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, s.idle_expires_at";

    public Task InsertConsoleSessionAsync(ConsoleSessionRecord session, CancellationToken cancellationToken = default) =>
        WriteAsync(
            scope => scope.Execute(
                "INSERT INTO console_sessions (id, token_hash, org_id, api_key_hash, csrf_token, created_at, last_seen_at, expires_at, idle_expires_at) " +
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                session.Id, session.TokenHash, session.OrgId, session.ApiKeyHash, session.CsrfToken, Ms(session.CreatedAt), Ms(session.LastSeenAt),
                Ms(session.ExpiresAt), Ms(session.IdleExpiresAt)),
            transaction: false,
            cancellationToken);

    public async Task<ConsoleSessionRecord?> FindConsoleSessionAsync(byte[] tokenHash, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(
            connection,
            $"SELECT {ConsoleSessionColumns} FROM console_sessions s JOIN api_keys k ON k.key_hash = s.api_key_hash AND k.revoked_at IS NULL " +
            "WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.idle_expires_at > $2",
            tokenHash, Ms(now));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadConsoleSession(reader) : null;
    }

    public Task<bool> TouchConsoleSessionAsync(string sessionId, DateTimeOffset now, DateTimeOffset idleExpiresAt, CancellationToken cancellationToken = default) =>
        WriteAsync(
            scope => scope.Execute(
                "UPDATE console_sessions SET last_seen_at = $2, idle_expires_at = min($3, expires_at) WHERE id = $1 AND expires_at > $2 AND idle_expires_at > $2",
                sessionId, Ms(now), Ms(idleExpiresAt)) > 0,
            transaction: false,
            cancellationToken);

    public Task<bool> DeleteConsoleSessionAsync(string sessionId, CancellationToken cancellationToken = default) =>
        WriteAsync(scope => scope.Execute("DELETE FROM console_sessions WHERE id = $1", sessionId) > 0, transaction: false, cancellationToken);

    public Task<int> DeleteExpiredConsoleSessionsAsync(DateTimeOffset now, CancellationToken cancellationToken = default) =>
        WriteAsync(
            scope => scope.Execute("DELETE FROM console_sessions WHERE idle_expires_at <= $1 OR expires_at <= $1", Ms(now)),
            transaction: false,
            cancellationToken);

    private static ConsoleSessionRecord ReadConsoleSession(DbDataReader r) => StoreRows.ReadConsoleSession(r);
}
