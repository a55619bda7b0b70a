using Dedalus.Server.Store.Sqlite;
using Npgsql;
using static Dedalus.Server.Store.StoreRows;

namespace Dedalus.Server.Store.Postgres;

public sealed partial class PostgresStore
{
    /// <summary>How long an unfinished claim on an idempotency key holds before a repeat may take it over (the SQLite store's lease).</summary>
    public static readonly TimeSpan InFlightLease = SqliteStore.InFlightLease;

    public Task<IdempotencyRecord?> TryBeginIdempotentAsync(string orgId, string key, string requestHash, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        ReadAsync(async connection =>
        {
            // One round trip, one implicit transaction. The insert claims a new key; on a conflict it takes over a claim
            // whose request never finished (the server died mid-request: it would answer 429 forever) once the lease has
            // passed, else it only locks the row, waiting for a concurrent claim to commit. The select, a later statement
            // with a later snapshot, then reads the record that stands.
            await using var batch = new NpgsqlBatch(connection)
            {
                BatchCommands =
                {
                    Statement(
                        "INSERT INTO idempotency_records (org_id, key, request_hash, state, created_at) VALUES ($1, $2, $3, 0, $4) " +
                        "ON CONFLICT (org_id, key) DO UPDATE SET request_hash = excluded.request_hash, created_at = excluded.created_at " +
                        "WHERE idempotency_records.state = 0 AND idempotency_records.created_at < $5 RETURNING 1",
                        orgId, key, requestHash, Ms(now), Ms(now - InFlightLease)),
                    Statement(
                        "SELECT request_hash, state, status_code, etag, content_type, body, storage_operation_id FROM idempotency_records WHERE org_id = $1 AND key = $2",
                        orgId, key),
                },
            };
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            return new IdempotencyRecord(
                reader.GetString(0),
                reader.GetInt16(1) == 1,
                reader.IsDBNull(2) ? 0 : reader.GetInt32(2),
                NullableString(reader, 3),
                NullableString(reader, 4),
                reader.IsDBNull(5) ? null : reader.GetFieldValue<byte[]>(5),
                NullableString(reader, 6));
        }, cancellationToken);

    public Task CompleteIdempotentAsync(string orgId, string key, int statusCode, string? etag, string? contentType, byte[] body, string? storageOperationId = null, CancellationToken cancellationToken = default) =>
        ExecuteAsync(
            "UPDATE idempotency_records SET state = 1, status_code = $3, etag = $4, content_type = $5, body = $6, storage_operation_id = $7 WHERE org_id = $1 AND key = $2",
            [orgId, key, statusCode, Text(etag), Text(contentType), Bytes(body), Text(storageOperationId)],
            cancellationToken);

    public Task AbandonIdempotentAsync(string orgId, string key, CancellationToken cancellationToken = default) =>
        ExecuteAsync("DELETE FROM idempotency_records WHERE org_id = $1 AND key = $2 AND state = 0", [orgId, key], cancellationToken);

    public async Task<int> PruneAsync(DateTimeOffset before, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        (await BatchAsync(
            [
                // One prune at a time across processes (the lock holds to the end of the batch's implicit transaction).
                Statement("SELECT pg_advisory_xact_lock($1, $2)", LockSpace, RetentionLock),
                Statement("DELETE FROM idempotency_records WHERE created_at < $1", Ms(before)),
                // Keep each machine's latest event: a fresh watch starts from it.
                Statement(
                    "DELETE FROM machine_events WHERE created_at < $1 AND seq NOT IN (SELECT max(seq) FROM machine_events GROUP BY machine_id)",
                    Ms(before)),
                Statement("DELETE FROM revocations WHERE expires_at < $1", Ms(now)),
            ],
            cancellationToken).ConfigureAwait(false)).Skip(1).Sum();
}
