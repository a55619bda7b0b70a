namespace Dedalus.Server.Store.Postgres;

public sealed partial class PostgresStore
{
    public Task<string> EnsureOrgAsync(string name, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        WriteAsync(async scope =>
        {
            // Two processes ensuring one org at once: the second insert waits for the first and does nothing; the select,
            // a later statement, sees whichever row committed.
            var id = "org-" + Guid.CreateVersion7(now).ToString("D");
            return (string)(await scope.ScalarAsync(
                Statement("INSERT INTO orgs (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING", id, name, Ms(now)),
                Statement("SELECT id FROM orgs WHERE name = $1", name)).ConfigureAwait(false))!;
        }, cancellationToken);

    public Task AddApiKeyAsync(byte[] keyHash, string keyPrefix, string orgId, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        ExecuteAsync("INSERT INTO api_keys (key_hash, key_prefix, org_id, created_at) VALUES ($1, $2, $3, $4)", [keyHash, keyPrefix, orgId, Ms(now)], cancellationToken);

    public async Task<string?> FindOrgByApiKeyHashAsync(byte[] keyHash, CancellationToken cancellationToken = default) =>
        await ScalarAsync("SELECT org_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL", [keyHash], cancellationToken).ConfigureAwait(false) as string;

    public async Task<bool> GetOrgAutoresizeAsync(string orgId, CancellationToken cancellationToken = default) =>
        await ScalarAsync("SELECT autoresize FROM orgs WHERE id = $1", [orgId], cancellationToken).ConfigureAwait(false) is true;

    public Task SetOrgAutoresizeAsync(string orgId, bool enabled, CancellationToken cancellationToken = default) =>
        ExecuteAsync("UPDATE orgs SET autoresize = $2 WHERE id = $1", [orgId, enabled], cancellationToken);

    public async Task<IReadOnlySet<string>> ListAutoresizeOrgsAsync(CancellationToken cancellationToken = default) =>
        (await QueryAsync("SELECT id FROM orgs WHERE autoresize", [], r => r.GetString(0), cancellationToken).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
}
