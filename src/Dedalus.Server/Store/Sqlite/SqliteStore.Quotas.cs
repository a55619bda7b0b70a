using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Dedalus.Server.Store.Sqlite;

public sealed partial class SqliteStore
{
    public async Task<OrgRecord?> FindOrgAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(connection, "SELECT id, name FROM orgs WHERE name = $1", name);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? new OrgRecord(reader.GetString(0), reader.GetString(1)) : null;
    }

    public async Task<IReadOnlyList<OrgRecord>> ListOrgsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(connection, "SELECT id, name FROM orgs ORDER BY name");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var orgs = new List<OrgRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            orgs.Add(new OrgRecord(reader.GetString(0), reader.GetString(1)));
        }

        return orgs;
    }

    public Task SetQuotaOverridesAsync(string orgId, IReadOnlyDictionary<string, string?> changes, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        WriteAsync(scope =>
        {
            foreach (var (quota, value) in changes)
            {
                if (value is null)
                {
                    scope.Execute("DELETE FROM org_quotas WHERE org_id = $1 AND quota = $2", orgId, quota);
                }
                else
                {
                    scope.Execute(
                        "INSERT INTO org_quotas (org_id, quota, value, updated_at) VALUES ($1, $2, $3, $4) " +
                        "ON CONFLICT (org_id, quota) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                        orgId, quota, value, Ms(now));
                }
            }

            return 0;
        }, transaction: true, cancellationToken);

    public async Task<T> ReadResourcesAsync<T>(Func<IResourceReader, T> read, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        // Deferred: a read snapshot that takes no write lock (an immediate transaction would hold the server's writes).
        await using var transaction = connection.BeginTransaction(deferred: true);
        var commands = new List<SqliteCommand>();
        try
        {
            return read(new ResourceReader((sql, values) =>
            {
                var command = ReadCommand(connection, sql, values);
                command.Transaction = transaction;
                commands.Add(command);
                return command;
            }));
        }
        finally
        {
            foreach (var command in commands)
            {
                await command.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    public Task SaveServerSettingsAsync(IReadOnlyDictionary<string, string> settings, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        WriteAsync(scope =>
        {
            scope.Execute("DELETE FROM server_settings");
            foreach (var (key, value) in settings)
            {
                scope.Execute("INSERT INTO server_settings (key, value, updated_at) VALUES ($1, $2, $3)", key, value, Ms(now));
            }

            return 0;
        }, transaction: true, cancellationToken);

    public async Task<IReadOnlyDictionary<string, string>> GetServerSettingsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(connection, "SELECT key, value FROM server_settings");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            settings[reader.GetString(0)] = reader.GetString(1);
        }

        return settings;
    }

    public async Task<IReadOnlyDictionary<string, string>> GetQuotaOverridesAsync(string orgId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(connection, "SELECT quota, value FROM org_quotas WHERE org_id = $1", orgId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var overrides = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            overrides[reader.GetString(0)] = reader.GetString(1);
        }

        return overrides;
    }

    /// <summary>
    /// The admission reads, on whatever connection and transaction <paramref name="command"/> prepares them: the writer's
    /// (inside a write, under the write lock) or a reader's. Each read is one indexed query (see migration 0003).
    /// </summary>
    private sealed class ResourceReader(Func<string, object?[], SqliteCommand> command) : IResourceReader
    {
        // Live as HasLiveSessionAsync counts them, plus ssh_in_progress; the same list as the index ssh_sessions_org_live.
        // The same list as the indexes executions_org_live and executions_machine_live.
        private const string LiveExecution = "status IN ('wake_in_progress', 'queued', 'running')";

        private const string LiveSession = "org_id = $1 AND status IN ('ready', 'wake_in_progress', 'ssh_in_progress') AND expires_at > $2";

        public IReadOnlyDictionary<string, string> QuotaOverrides(string orgId)
        {
            var overrides = new Dictionary<string, string>(StringComparer.Ordinal);
            using var reader = command("SELECT quota, value FROM org_quotas WHERE org_id = $1", [orgId]).ExecuteReader();
            while (reader.Read())
            {
                overrides[reader.GetString(0)] = reader.GetString(1);
            }

            return overrides;
        }

        public OrgMachines Machines(string orgId)
        {
            using var reader = command(
                "SELECT COUNT(*), TOTAL(vcpu), TOTAL(memory_mib), TOTAL(storage_gib), " +
                "TOTAL(desired_state = 'destroyed'), TOTAL(IIF(desired_state = 'destroyed', vcpu, 0)), " +
                "TOTAL(IIF(desired_state = 'destroyed', memory_mib, 0)), TOTAL(IIF(desired_state = 'destroyed', storage_gib, 0)) " +
                "FROM machines WHERE org_id = $1 AND phase <> 'destroyed'",
                [orgId]).ExecuteReader();
            reader.Read();
            return new OrgMachines(
                new MachineUsage(reader.GetInt64(0), reader.GetDouble(1), (long)reader.GetDouble(2), (long)reader.GetDouble(3)),
                new MachineUsage((long)reader.GetDouble(4), reader.GetDouble(5), (long)reader.GetDouble(6), (long)reader.GetDouble(7)));
        }

        public long CommittedStorageGib(string nodeId) =>
            (long)Convert.ToDouble(command("SELECT TOTAL(storage_gib) FROM machines WHERE node_id = $1 AND phase <> 'destroyed'", [nodeId]).ExecuteScalar(), CultureInfo.InvariantCulture);

        public IReadOnlyList<NodeLoad> NodeLoads()
        {
            var loads = new List<NodeLoad>();
            using var reader = command(
                $"SELECT {string.Join(", ", NodeColumns.Split(", ").Select(c => "n." + c))}, COUNT(m.id), TOTAL(m.vcpu), TOTAL(m.memory_mib), TOTAL(m.storage_gib) " +
                "FROM nodes n LEFT JOIN machines m ON m.node_id = n.id AND m.phase <> 'destroyed' GROUP BY n.id ORDER BY n.id",
                []).ExecuteReader();
            while (reader.Read())
            {
                loads.Add(new NodeLoad(ReadNode(reader, 0), reader.GetInt64(11), reader.GetDouble(12), (long)reader.GetDouble(13), (long)reader.GetDouble(14)));
            }

            return loads;
        }

        public long LiveSessions(string orgId, DateTimeOffset now) =>
            Convert.ToInt64(command($"SELECT COUNT(*) FROM ssh_sessions WHERE {LiveSession}", [orgId, Ms(now)]).ExecuteScalar(), CultureInfo.InvariantCulture);

        public long LiveExecutions(string orgId) =>
            Convert.ToInt64(command($"SELECT COUNT(*) FROM executions WHERE org_id = $1 AND {LiveExecution}", [orgId]).ExecuteScalar(), CultureInfo.InvariantCulture);

        public long MachineLiveExecutions(string machineId) =>
            Convert.ToInt64(command($"SELECT COUNT(*) FROM executions WHERE machine_id = $1 AND {LiveExecution}", [machineId]).ExecuteScalar(), CultureInfo.InvariantCulture);

        public DateTimeOffset? NextSessionExpiry(string orgId, DateTimeOffset now) =>
            command($"SELECT MIN(expires_at) FROM ssh_sessions WHERE {LiveSession}", [orgId, Ms(now)]).ExecuteScalar() is long ms
                ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
                : null;
    }
}
