using System.Data.Common;

namespace Dedalus.Server.Store.Sqlite;

public sealed partial class SqliteStore
{
    private const string MachineColumns =
        "seq, id, org_id, vcpu, memory_mib, storage_gib, autosleep_seconds, desired_state, phase, reason, retryable, last_error, " +
        "revision, gateway_port, resources_dirty, created_at, last_transition_at, last_progress_at, last_activity_at, gateway_port_error, " +
        "name, reboot, autoresize, memory_autoresized_mib, memory_last_autoresized_at, memory_resize_state, network_address, network_policy, node_id";

    public Task<MachineRecord?> InsertMachineAsync(
        MachineRecord machine, Func<IResourceReader, MachinePlacement> place, Func<MachineRecord, string> eventPayload, Action<IResourceReader>? admit = null, CancellationToken cancellationToken = default) =>
        WriteAsync(scope =>
        {
            var resources = new ResourceReader(scope.Command);
            admit?.Invoke(resources);
            var (nodeId, portLow, portHigh) = place(resources);

            // Lowest free port: a port is free again once its machine is destroyed, not merely asked to be
            // (until then the gateway may still listen on it, and a new machine's listener would fail).
            var used = new HashSet<long>();
            using (var reader = scope.Command("SELECT gateway_port FROM machines WHERE node_id = $3 AND phase <> 'destroyed' AND gateway_port BETWEEN $1 AND $2", portLow, portHigh, nodeId).ExecuteReader())
            {
                while (reader.Read())
                {
                    used.Add(reader.GetInt64(0));
                }
            }

            var port = -1;
            for (var candidate = portLow; candidate <= portHigh; candidate++)
            {
                if (!used.Contains(candidate))
                {
                    port = candidate;
                    break;
                }
            }

            if (port < 0)
            {
                return null;
            }

            var stored = machine with { GatewayPort = port, NodeId = nodeId };
            EnsureNameFree(scope, stored);
            scope.Execute(
                "INSERT INTO machines (id, org_id, vcpu, memory_mib, storage_gib, autosleep_seconds, desired_state, phase, reason, retryable, last_error, " +
                "revision, gateway_port, resources_dirty, created_at, last_transition_at, last_progress_at, last_activity_at, " +
                "name, reboot, autoresize, memory_autoresized_mib, memory_last_autoresized_at, memory_resize_state, network_policy, node_id) " +
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)",
                MachineValues(stored));
            AppendEvent(scope, stored, eventPayload(stored));
            return stored;
        }, transaction: true, cancellationToken);

    private static object?[] MachineValues(MachineRecord m) =>
    [
        m.Id, m.OrgId, m.Vcpu, m.MemoryMib, m.StorageGib, m.AutosleepSeconds, m.DesiredState, m.Phase, m.Reason, m.Retryable ? 1 : 0, m.LastError,
        m.Revision, m.GatewayPort, m.ResourcesDirty ? 1 : 0, Ms(m.CreatedAt), Ms(m.LastTransitionAt), Ms(m.LastProgressAt), Ms(m.LastActivityAt),
        m.Name, m.Reboot, Flag(m.Autoresize), m.MemoryAutoresizedMib, Ms(m.MemoryLastAutoresizedAt), m.MemoryResizeState, m.NetworkPolicy, m.NodeId,
    ];

    /// <summary>Refuses a name another machine of the org holds while it is not destroyed (the unique index backs this up).</summary>
    private static void EnsureNameFree(WriteScope scope, MachineRecord machine)
    {
        if (machine.Name is null || machine.DesiredState == Contracts.DesiredStates.Destroyed)
        {
            return;
        }

        if (scope.Scalar(
                "SELECT id FROM machines WHERE org_id = $1 AND name = $2 AND id <> $3 AND desired_state <> 'destroyed'",
                machine.OrgId, machine.Name, machine.Id) is string holder)
        {
            throw new MachineNameTakenException(machine.Name, holder);
        }
    }

    /// <summary>The org's machine named <paramref name="name"/> that is not destroyed, if any.</summary>
    public async Task<MachineRecord?> FindMachineByNameAsync(string orgId, string name, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(
            connection, $"SELECT {MachineColumns} FROM machines WHERE org_id = $1 AND name = $2 AND desired_state <> 'destroyed'", orgId, name);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadMachine(reader) : null;
    }

    private static object? Flag(bool? value) => value is { } b ? (b ? 1 : 0) : null;

    private static void AppendEvent(WriteScope scope, MachineRecord machine, string payload) =>
        scope.Execute(
            "INSERT INTO machine_events (machine_id, revision, payload, created_at) VALUES ($1, $2, $3, $4)",
            machine.Id, machine.Revision, payload, Ms(machine.LastProgressAt));

    public async Task<MachineRecord?> GetMachineAsync(string machineId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(connection, $"SELECT {MachineColumns} FROM machines WHERE id = $1", machineId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadMachine(reader) : null;
    }

    public async Task<Page<MachineRecord>> ListMachinesAsync(string orgId, long after, int limit, DateTimeOffset destroyedSince, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(
            connection,
            $"SELECT {MachineColumns} FROM machines WHERE org_id = $1 AND seq > $2 AND (phase <> 'destroyed' OR last_transition_at >= $4) ORDER BY seq LIMIT $3",
            orgId, after, limit + 1, Ms(destroyedSince));
        return await ReadPageAsync(command, limit, ReadMachine, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<MachineRecord>> ListLiveMachinesAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(connection, $"SELECT {MachineColumns} FROM machines WHERE phase <> 'destroyed' ORDER BY seq");
        var page = await ReadPageAsync(command, int.MaxValue, ReadMachine, cancellationToken).ConfigureAwait(false);
        return page.Items;
    }

    public Task<bool> TryUpdateMachineAsync(MachineRecord machine, long expectedRevision, string eventPayload, Action<IResourceReader>? admit = null, CancellationToken cancellationToken = default) =>
        WriteAsync(scope =>
        {
            admit?.Invoke(new ResourceReader(scope.Command));
            EnsureNameFree(scope, machine);
            // A machine that moves takes a port no other live machine has (the rule of InsertMachineAsync).
            var changed = scope.Execute(
                "UPDATE machines SET vcpu = $2, memory_mib = $3, storage_gib = $4, autosleep_seconds = $5, desired_state = $6, phase = $7, reason = $8, " +
                "retryable = $9, last_error = $10, revision = $11, resources_dirty = $12, last_transition_at = $13, last_progress_at = $14, last_activity_at = $15, " +
                "gateway_port = $17, gateway_port_error = $18, name = $19, reboot = $20, autoresize = $21, memory_autoresized_mib = $22, " +
                "memory_last_autoresized_at = $23, memory_resize_state = $24, network_policy = $25 " +
                "WHERE id = $1 AND revision = $16 " +
                "AND ($17 = gateway_port OR NOT EXISTS (SELECT 1 FROM machines o WHERE o.gateway_port = $17 AND o.node_id IS machines.node_id AND o.id <> $1 AND o.phase <> 'destroyed'))",
                machine.Id, machine.Vcpu, machine.MemoryMib, machine.StorageGib, machine.AutosleepSeconds, machine.DesiredState, machine.Phase, machine.Reason,
                machine.Retryable ? 1 : 0, machine.LastError, machine.Revision, machine.ResourcesDirty ? 1 : 0, Ms(machine.LastTransitionAt),
                Ms(machine.LastProgressAt), Ms(machine.LastActivityAt), expectedRevision, machine.GatewayPort, machine.GatewayPortError,
                machine.Name, machine.Reboot, Flag(machine.Autoresize), machine.MemoryAutoresizedMib, Ms(machine.MemoryLastAutoresizedAt),
                machine.MemoryResizeState, machine.NetworkPolicy);
            if (changed == 0)
            {
                return false;
            }

            AppendEvent(scope, machine, eventPayload);
            return true;
        }, transaction: true, cancellationToken);

    public async Task<IReadOnlyList<MachineEvent>> GetMachineEventsAsync(string machineId, long after, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(connection, "SELECT seq, machine_id, revision, payload FROM machine_events WHERE machine_id = $1 AND seq > $2 ORDER BY seq", machineId, after);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var events = new List<MachineEvent>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            events.Add(new MachineEvent(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3)));
        }

        return events;
    }

    private static async Task<Page<T>> ReadPageAsync<T>(DbCommand command, int limit, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var items = new List<T>();
        long lastSeq = 0;
        var more = false;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (items.Count == limit)
            {
                more = true;
                break;
            }

            lastSeq = reader.GetInt64(0);
            items.Add(read(reader));
        }

        return new Page<T>(items, more ? lastSeq : null);
    }

    private static MachineRecord ReadMachine(DbDataReader r) => StoreRows.ReadMachine(r);

    public Task<string?> AssignNetworkAddressAsync(string machineId, IEnumerable<string> candidates, Func<string, bool> keep, CancellationToken cancellationToken = default) =>
        WriteAsync(scope =>
        {
            if (scope.Scalar("SELECT count(*) FROM machines WHERE id = $1 AND phase <> 'destroyed'", machineId) is 0L)
            {
                return null;
            }

            if (scope.Scalar("SELECT network_address FROM machines WHERE id = $1", machineId) is string held && keep(held))
            {
                return held;
            }

            var used = new HashSet<string>(StringComparer.Ordinal);
            using (var reader = scope.Command("SELECT network_address FROM machines WHERE network_address IS NOT NULL AND phase <> 'destroyed' AND id <> $1", machineId).ExecuteReader())
            {
                while (reader.Read())
                {
                    used.Add(reader.GetString(0));
                }
            }

            var free = candidates.FirstOrDefault(c => !used.Contains(c));
            if (free is not null)
            {
                scope.Execute("UPDATE machines SET network_address = $2 WHERE id = $1", machineId, free);
            }

            return free;
        }, transaction: true, cancellationToken);
}
