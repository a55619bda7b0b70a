using System.Data;
using Npgsql;

namespace Dedalus.Server.Store.Postgres;

public sealed partial class PostgresStore
{
    public Task<OrgRecord?> FindOrgAsync(string name, CancellationToken cancellationToken = default) =>
        QuerySingleAsync("SELECT id, name FROM orgs WHERE name = $1", [name], r => new OrgRecord(r.GetString(0), r.GetString(1)), cancellationToken);

    public async Task<IReadOnlyList<OrgRecord>> ListOrgsAsync(CancellationToken cancellationToken = default) =>
        // COLLATE "C": byte order, as SQLite sorts text, whatever the database's collation.
        await QueryAsync("SELECT id, name FROM orgs ORDER BY name COLLATE \"C\"", [], r => new OrgRecord(r.GetString(0), r.GetString(1)), cancellationToken)
            .ConfigureAwait(false);

    public Task SetQuotaOverridesAsync(string orgId, IReadOnlyDictionary<string, string?> changes, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        // Under the org lock: an admission check in flight reads the limits before or after the change, never half of it.
        WriteAsync(orgId, async scope =>
        {
            var statements = new List<NpgsqlBatchCommand>();
            foreach (var (quota, value) in changes)
            {
                statements.Add(value is null
                    ? Statement("DELETE FROM org_quotas WHERE org_id = $1 AND quota = $2", orgId, quota)
                    : Statement(
                        "INSERT INTO org_quotas (org_id, quota, value, updated_at) VALUES ($1, $2, $3, $4) " +
                        "ON CONFLICT (org_id, quota) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                        orgId, quota, value, Ms(now)));
            }

            if (statements.Count > 0)
            {
                await scope.ExecuteAsync([.. statements]).ConfigureAwait(false);
            }

            return 0;
        }, cancellationToken);

    public async Task<IReadOnlyDictionary<string, string>> GetQuotaOverridesAsync(string orgId, CancellationToken cancellationToken = default) =>
        (await QueryAsync("SELECT quota, value FROM org_quotas WHERE org_id = $1", [orgId], r => (Quota: r.GetString(0), Value: r.GetString(1)), cancellationToken)
            .ConfigureAwait(false)).ToDictionary(o => o.Quota, o => o.Value, StringComparer.Ordinal);

    public async Task<T> ReadResourcesAsync<T>(Func<IResourceReader, T> read, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            // One snapshot for every read, and no lock: the answer is a report, not an admission.
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            return read(new ResourceReader((sql, values) =>
            {
                // The reader owns the command's result; the command holds nothing else to release.
                var command = Command(connection, sql, values);
                command.Transaction = transaction;
                return command.ExecuteReader();
            }));
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw Unavailable(e);
        }
    }

    public Task SaveServerSettingsAsync(IReadOnlyDictionary<string, string> settings, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        WriteAsync(async scope =>
        {
            // Without it, two nodes starting at once both delete (nothing yet) and both insert: a duplicate key.
            scope.LockGlobal(SettingsLock);
            var statements = new List<NpgsqlBatchCommand> { Statement("DELETE FROM server_settings") };
            foreach (var (key, value) in settings)
            {
                statements.Add(Statement("INSERT INTO server_settings (key, value, updated_at) VALUES ($1, $2, $3)", key, value, Ms(now)));
            }

            await scope.ExecuteAsync([.. statements]).ConfigureAwait(false);
            return 0;
        }, cancellationToken);

    public async Task<IReadOnlyDictionary<string, string>> GetServerSettingsAsync(CancellationToken cancellationToken = default)
    {
        var rows = await QueryAsync("SELECT key, value FROM server_settings", [], r => (Key: r.GetString(0), Value: r.GetString(1)), cancellationToken).ConfigureAwait(false);
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in rows)
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>
    /// The admission reads, on whatever connection and transaction <paramref name="query"/> runs them: a write's (under
    /// its org lock) or a read snapshot's. Each read is one indexed query, one round trip, synchronous because
    /// <see cref="IResourceReader"/> is.
    /// </summary>
    private sealed class ResourceReader(Func<string, object?[], NpgsqlDataReader> query) : IResourceReader
    {
        // The same lists as the partial indexes ssh_sessions_org_live, executions_org_live and executions_machine_live.
        private const string LiveExecution = "status IN ('wake_in_progress', 'queued', 'running')";

        private const string LiveSession = "org_id = $1 AND status IN ('ready', 'wake_in_progress', 'ssh_in_progress') AND expires_at > $2";

        public IReadOnlyDictionary<string, string> QuotaOverrides(string orgId)
        {
            var overrides = new Dictionary<string, string>(StringComparer.Ordinal);
            using var reader = query("SELECT quota, value FROM org_quotas WHERE org_id = $1", [orgId]);
            while (reader.Read())
            {
                overrides[reader.GetString(0)] = reader.GetString(1);
            }

            return overrides;
        }

        public OrgMachines Machines(string orgId)
        {
            using var reader = query(
                "SELECT count(*), COALESCE(sum(vcpu), 0), COALESCE(sum(memory_mib), 0)::bigint, COALESCE(sum(storage_gib), 0)::bigint, " +
                "count(*) FILTER (WHERE desired_state = 'destroyed'), COALESCE(sum(vcpu) FILTER (WHERE desired_state = 'destroyed'), 0), " +
                "COALESCE(sum(memory_mib) FILTER (WHERE desired_state = 'destroyed'), 0)::bigint, " +
                "COALESCE(sum(storage_gib) FILTER (WHERE desired_state = 'destroyed'), 0)::bigint " +
                "FROM machines WHERE org_id = $1 AND phase <> 'destroyed'",
                [orgId]);
            reader.Read();
            return new OrgMachines(
                new MachineUsage(reader.GetInt64(0), reader.GetDouble(1), reader.GetInt64(2), reader.GetInt64(3)),
                new MachineUsage(reader.GetInt64(4), reader.GetDouble(5), reader.GetInt64(6), reader.GetInt64(7)));
        }

        public long CommittedStorageGib(string nodeId) =>
            Long("SELECT COALESCE(sum(storage_gib), 0)::bigint FROM machines WHERE node_id = $1 AND phase <> 'destroyed'", [nodeId]);

        public IReadOnlyList<NodeLoad> NodeLoads()
        {
            var loads = new List<NodeLoad>();
            using var reader = query(
                $"SELECT {NodeColumnsOf("n")}, count(m.id), COALESCE(sum(m.vcpu), 0), COALESCE(sum(m.memory_mib), 0)::bigint, COALESCE(sum(m.storage_gib), 0)::bigint " +
                "FROM nodes n LEFT JOIN machines m ON m.node_id = n.id AND m.phase <> 'destroyed' GROUP BY n.id ORDER BY n.id",
                []);
            while (reader.Read())
            {
                loads.Add(new NodeLoad(ReadNode(reader), reader.GetInt64(11), reader.GetDouble(12), reader.GetInt64(13), reader.GetInt64(14)));
            }

            return loads;
        }

        public long LiveSessions(string orgId, DateTimeOffset now) => Long($"SELECT count(*) FROM ssh_sessions WHERE {LiveSession}", [orgId, Ms(now)]);

        public long LiveExecutions(string orgId) => Long($"SELECT count(*) FROM executions WHERE org_id = $1 AND {LiveExecution}", [orgId]);

        public long MachineLiveExecutions(string machineId) => Long($"SELECT count(*) FROM executions WHERE machine_id = $1 AND {LiveExecution}", [machineId]);

        public DateTimeOffset? NextSessionExpiry(string orgId, DateTimeOffset now)
        {
            using var reader = query($"SELECT min(expires_at) FROM ssh_sessions WHERE {LiveSession}", [orgId, Ms(now)]);
            return reader.Read() && !reader.IsDBNull(0) ? DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)) : null;
        }

        private long Long(string sql, object?[] values)
        {
            using var reader = query(sql, values);
            reader.Read();
            return reader.GetInt64(0);
        }
    }
}
