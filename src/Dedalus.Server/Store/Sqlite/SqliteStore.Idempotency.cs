using static Dedalus.Server.Store.StoreRows;

namespace Dedalus.Server.Store.Sqlite;

public sealed partial class SqliteStore
{
    /// <summary>How long an unfinished claim on an idempotency key holds before a repeat may take it over.</summary>
    public static readonly TimeSpan InFlightLease = TimeSpan.FromMinutes(2);

    public Task<IdempotencyRecord?> TryBeginIdempotentAsync(string orgId, string key, string requestHash, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        WriteAsync(scope =>
        {
            var inserted = scope.Execute(
                "INSERT OR IGNORE INTO idempotency_records (org_id, key, request_hash, state, created_at) VALUES ($1, $2, $3, 0, $4)",
                orgId, key, requestHash, Ms(now));
            if (inserted == 1)
            {
                return null;
            }

            // A claim whose request never finished (the server died mid-request) would answer 429 forever:
            // after the lease it is taken over by the new request.
            var takenOver = scope.Execute(
                "UPDATE idempotency_records SET request_hash = $3, created_at = $4 WHERE org_id = $1 AND key = $2 AND state = 0 AND created_at < $5",
                orgId, key, requestHash, Ms(now), Ms(now - InFlightLease));
            if (takenOver == 1)
            {
                return null;
            }

            using var reader = scope.Command("SELECT request_hash, state, status_code, etag, content_type, body, storage_operation_id FROM idempotency_records WHERE org_id = $1 AND key = $2", orgId, key).ExecuteReader();
            if (!reader.Read())
            {
                return null;
            }

            return new IdempotencyRecord(
                reader.GetString(0),
                reader.GetInt64(1) == 1,
                reader.IsDBNull(2) ? 0 : reader.GetInt32(2),
                NullableString(reader, 3),
                NullableString(reader, 4),
                reader.IsDBNull(5) ? null : (byte[])reader.GetValue(5),
                NullableString(reader, 6));
        }, transaction: false, cancellationToken);

    public Task CompleteIdempotentAsync(string orgId, string key, int statusCode, string? etag, string? contentType, byte[] body, string? storageOperationId = null, CancellationToken cancellationToken = default) =>
        WriteAsync(
            scope => scope.Execute(
                "UPDATE idempotency_records SET state = 1, status_code = $3, etag = $4, content_type = $5, body = $6, storage_operation_id = $7 WHERE org_id = $1 AND key = $2",
                orgId, key, statusCode, etag, contentType, body, storageOperationId),
            transaction: false,
            cancellationToken);

    public Task AbandonIdempotentAsync(string orgId, string key, CancellationToken cancellationToken = default) =>
        WriteAsync(
            scope => scope.Execute("DELETE FROM idempotency_records WHERE org_id = $1 AND key = $2 AND state = 0", orgId, key),
            transaction: false,
            cancellationToken);

    public Task<int> PruneAsync(DateTimeOffset before, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        WriteAsync(
            scope =>
                scope.Execute("DELETE FROM idempotency_records WHERE created_at < $1", Ms(before))
                // Keep each machine's latest event: a fresh watch starts from it.
                + scope.Execute(
                    "DELETE FROM machine_events WHERE created_at < $1 AND seq NOT IN (SELECT max(seq) FROM machine_events GROUP BY machine_id)",
                    Ms(before))
                + scope.Execute("DELETE FROM revocations WHERE expires_at < $1", Ms(now)),
            transaction: true,
            cancellationToken);
}
