namespace Dedalus.Server.Store.Sqlite;

public sealed partial class SqliteStore
{
    public Task<string> EnsureOrgAsync(string name, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        WriteAsync(scope =>
        {
            if (scope.Scalar("SELECT id FROM orgs WHERE name = $1", name) is string existing)
            {
                return existing;
            }

            var id = "org-" + Guid.CreateVersion7(now).ToString("D");
            scope.Execute("INSERT INTO orgs (id, name, created_at) VALUES ($1, $2, $3)", id, name, Ms(now));
            return id;
        }, transaction: true, cancellationToken);

    public Task AddApiKeyAsync(byte[] keyHash, string keyPrefix, string orgId, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        WriteAsync(
            scope => scope.Execute("INSERT INTO api_keys (key_hash, key_prefix, org_id, created_at) VALUES ($1, $2, $3, $4)", keyHash, keyPrefix, orgId, Ms(now)),
            transaction: false,
            cancellationToken);

    public async Task<string?> FindOrgByApiKeyHashAsync(byte[] keyHash, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(connection, "SELECT org_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL", keyHash);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    public async Task<bool> GetOrgAutoresizeAsync(string orgId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(connection, "SELECT autoresize FROM orgs WHERE id = $1", orgId);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long value && value != 0;
    }

    public Task SetOrgAutoresizeAsync(string orgId, bool enabled, CancellationToken cancellationToken = default) =>
        WriteAsync(
            scope => scope.Execute("UPDATE orgs SET autoresize = $2 WHERE id = $1", orgId, enabled ? 1 : 0),
            transaction: false,
            cancellationToken);

    public async Task<IReadOnlySet<string>> ListAutoresizeOrgsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(connection, "SELECT id FROM orgs WHERE autoresize <> 0");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }
}
