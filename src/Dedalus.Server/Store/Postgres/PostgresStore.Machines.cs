using System.Data.Common;
using Npgsql;

namespace Dedalus.Server.Store.Postgres;

public sealed partial class PostgresStore
{
    private const string MachineColumns =
        "seq, id, org_id, vcpu, memory_mib, storage_gib, autosleep_seconds, desired_state, phase, reason, retryable, last_error, " +
        "revision, gateway_port, resources_dirty, created_at, last_transition_at, last_progress_at, last_activity_at, gateway_port_error, " +
        "name, reboot, autoresize, memory_autoresized_mib, memory_last_autoresized_at, memory_resize_state, network_address, network_policy, node_id";

    /// <summary>Another machine of the org that holds the name while it is not destroyed ($1 org, $2 name, $3 the machine itself).</summary>
    private const string NameHolder = "SELECT id FROM machines WHERE org_id = $1 AND name = $2 AND id <> $3 AND desired_state <> 'destroyed'";

    public async Task<MachineRecord?> InsertMachineAsync(
        MachineRecord machine, Func<IResourceReader, MachinePlacement> place, Func<MachineRecord, string> eventPayload, Action<IResourceReader>? admit = null, CancellationToken cancellationToken = default)
    {
        try
        {
            return await WriteAsync(machine.OrgId, async scope =>
            {
                scope.LockGlobal(MachinesLock);

                // The org's quotas, then the node, under the machines lock: concurrent creates on any node see each other.
                MachinePlacement? placement = null;
                await scope.AdmitAsync(reader =>
                {
                    admit?.Invoke(reader);
                    placement = place(reader);
                }).ConfigureAwait(false);
                var (nodeId, portLow, portHigh) = placement!;

                // Lowest free port: a port is free again once its machine is destroyed, not merely asked to be (until then
                // the gateway may still listen on it, and a new machine's listener would fail). One round trip also asks
                // for the name's holder.
                var checkName = machine.Name is not null && machine.DesiredState != Contracts.DesiredStates.Destroyed;
                var (port, holder) = (await scope.QueryAsync(
                    r => (Port: r.IsDBNull(0) ? -1 : r.GetInt32(0), Holder: r.IsDBNull(1) ? null : r.GetString(1)),
                    Statement(
                        "SELECT (SELECT p FROM generate_series($1::integer, $2::integer) p " +
                        "WHERE NOT EXISTS (SELECT 1 FROM machines WHERE node_id = $7 AND gateway_port = p AND phase <> 'destroyed') ORDER BY p LIMIT 1), " +
                        "CASE WHEN $6 THEN (SELECT id FROM machines WHERE org_id = $3 AND name = $4 AND id <> $5 AND desired_state <> 'destroyed' LIMIT 1) END",
                        portLow, portHigh, machine.OrgId, Text(machine.Name), machine.Id, checkName, nodeId)).ConfigureAwait(false))[0];
                if (port < 0)
                {
                    return null;
                }

                var stored = machine with { GatewayPort = port, NodeId = nodeId };
                if (holder is not null)
                {
                    throw new MachineNameTakenException(stored.Name!, holder);
                }

                await scope.ExecuteAsync(
                    Statement(
                        "INSERT INTO machines (id, org_id, vcpu, memory_mib, storage_gib, autosleep_seconds, desired_state, phase, reason, retryable, last_error, " +
                        "revision, gateway_port, resources_dirty, created_at, last_transition_at, last_progress_at, last_activity_at, " +
                        "name, reboot, autoresize, memory_autoresized_mib, memory_last_autoresized_at, memory_resize_state, network_policy, node_id) " +
                        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)",
                        MachineValues(stored)),
                    EventStatement(stored, eventPayload(stored))).ConfigureAwait(false);
                return stored;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (IsNameTaken(e))
        {
            throw await NameTakenAsync(machine, cancellationToken).ConfigureAwait(false);
        }
    }

    private static object?[] MachineValues(MachineRecord m) =>
    [
        m.Id, m.OrgId, m.Vcpu, m.MemoryMib, m.StorageGib, m.AutosleepSeconds, m.DesiredState, m.Phase, m.Reason, m.Retryable, Text(m.LastError),
        m.Revision, m.GatewayPort, m.ResourcesDirty, Ms(m.CreatedAt), Ms(m.LastTransitionAt), Ms(m.LastProgressAt), Ms(m.LastActivityAt),
        Text(m.Name), Text(m.Reboot), Bool(m.Autoresize), m.MemoryAutoresizedMib, Ms(m.MemoryLastAutoresizedAt), Text(m.MemoryResizeState), Text(m.NetworkPolicy),
        Text(m.NodeId),
    ];

    private static NpgsqlBatchCommand EventStatement(MachineRecord machine, string payload) =>
        Statement(
            "INSERT INTO machine_events (machine_id, revision, payload, created_at) VALUES ($1, $2, $3, $4)",
            machine.Id, machine.Revision, payload, Ms(machine.LastProgressAt));

    /// <summary>A write lost a race for a name to another process's write (the unique index machines_org_name refused it).</summary>
    private static bool IsNameTaken(PostgresException e) => e is { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: "machines_org_name" };

    private async Task<MachineNameTakenException> NameTakenAsync(MachineRecord machine, CancellationToken cancellationToken)
    {
        var holder = await ScalarAsync(NameHolder + " LIMIT 1", [machine.OrgId, machine.Name, machine.Id], cancellationToken).ConfigureAwait(false) as string;
        return new MachineNameTakenException(machine.Name!, holder ?? "(another machine)");
    }

    public Task<MachineRecord?> FindMachineByNameAsync(string orgId, string name, CancellationToken cancellationToken = default) =>
        QuerySingleAsync($"SELECT {MachineColumns} FROM machines WHERE org_id = $1 AND name = $2 AND desired_state <> 'destroyed'", [orgId, name], ReadMachine, cancellationToken);

    public Task<MachineRecord?> GetMachineAsync(string machineId, CancellationToken cancellationToken = default) =>
        QuerySingleAsync($"SELECT {MachineColumns} FROM machines WHERE id = $1", [machineId], ReadMachine, cancellationToken);

    public Task<Page<MachineRecord>> ListMachinesAsync(string orgId, long after, int limit, DateTimeOffset destroyedSince, CancellationToken cancellationToken = default) =>
        PageAsync(
            $"SELECT {MachineColumns} FROM machines WHERE org_id = $1 AND seq > $2 AND (phase <> 'destroyed' OR last_transition_at >= $4) ORDER BY seq LIMIT $3",
            [orgId, after, limit + 1L, Ms(destroyedSince)],
            limit,
            ReadMachine,
            cancellationToken);

    public async Task<IReadOnlyList<MachineRecord>> ListLiveMachinesAsync(CancellationToken cancellationToken = default) =>
        await QueryAsync($"SELECT {MachineColumns} FROM machines WHERE phase <> 'destroyed' ORDER BY seq", [], ReadMachine, cancellationToken).ConfigureAwait(false);

    public async Task<bool> TryUpdateMachineAsync(MachineRecord machine, long expectedRevision, string eventPayload, Action<IResourceReader>? admit = null, CancellationToken cancellationToken = default)
    {
        try
        {
            return await WriteAsync(admit is null ? null : machine.OrgId, async scope =>
            {
                if (admit is not null)
                {
                    scope.LockGlobal(MachinesLock);
                    await scope.AdmitAsync(admit).ConfigureAwait(false);
                }

                // A machine that moves takes a port no other live machine has (the rule of InsertMachineAsync): a move
                // takes the machines lock, so it and an insert cannot both take one free port.
                var checkName = machine.Name is not null && machine.DesiredState != Contracts.DesiredStates.Destroyed;
                var holder = await scope.ScalarAsync(
                    Statement(
                        "SELECT FROM (SELECT pg_advisory_xact_lock($3, $4) FROM machines WHERE id = $1 AND gateway_port <> $2 AND NOT $5) moving",
                        machine.Id, machine.GatewayPort, LockSpace, MachinesLock, admit is not null),
                    Statement(NameHolder + " AND $4 LIMIT 1", machine.OrgId, Text(machine.Name), machine.Id, checkName)).ConfigureAwait(false) as string;
                if (holder is not null)
                {
                    throw new MachineNameTakenException(machine.Name!, holder);
                }

                // The event is written only when the compare-and-swap wrote the row: one statement, one round trip.
                var written = await scope.ExecuteAsync(
                    "WITH updated AS (UPDATE machines SET vcpu = $2, memory_mib = $3, storage_gib = $4, autosleep_seconds = $5, desired_state = $6, phase = $7, " +
                    "reason = $8, retryable = $9, last_error = $10, revision = $11, resources_dirty = $12, last_transition_at = $13, last_progress_at = $14, " +
                    "last_activity_at = $15, gateway_port = $17, gateway_port_error = $18, name = $19, reboot = $20, autoresize = $21, memory_autoresized_mib = $22, " +
                    "memory_last_autoresized_at = $23, memory_resize_state = $24, network_policy = $25 " +
                    "WHERE id = $1 AND revision = $16 " +
                    "AND ($17 = gateway_port OR NOT EXISTS (SELECT 1 FROM machines o WHERE o.gateway_port = $17 AND o.node_id IS NOT DISTINCT FROM machines.node_id " +
                    "AND o.id <> $1 AND o.phase <> 'destroyed')) " +
                    "RETURNING id) " +
                    "INSERT INTO machine_events (machine_id, revision, payload, created_at) SELECT id, $11, $26, $14 FROM updated",
                    machine.Id, machine.Vcpu, machine.MemoryMib, machine.StorageGib, machine.AutosleepSeconds, machine.DesiredState, machine.Phase, machine.Reason,
                    machine.Retryable, Text(machine.LastError), machine.Revision, machine.ResourcesDirty, Ms(machine.LastTransitionAt),
                    Ms(machine.LastProgressAt), Ms(machine.LastActivityAt), expectedRevision, machine.GatewayPort, Text(machine.GatewayPortError),
                    Text(machine.Name), Text(machine.Reboot), Bool(machine.Autoresize), machine.MemoryAutoresizedMib, Ms(machine.MemoryLastAutoresizedAt),
                    Text(machine.MemoryResizeState), Text(machine.NetworkPolicy), eventPayload).ConfigureAwait(false);
                return written == 1;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (IsNameTaken(e))
        {
            throw await NameTakenAsync(machine, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<IReadOnlyList<MachineEvent>> GetMachineEventsAsync(string machineId, long after, CancellationToken cancellationToken = default) =>
        await QueryAsync(
            "SELECT seq, machine_id, revision, payload FROM machine_events WHERE machine_id = $1 AND seq > $2 ORDER BY seq",
            [machineId, after],
            r => new MachineEvent(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetString(3)),
            cancellationToken).ConfigureAwait(false);

    public Task<string?> AssignNetworkAddressAsync(string machineId, IEnumerable<string> candidates, Func<string, bool> keep, CancellationToken cancellationToken = default) =>
        WriteAsync(async scope =>
        {
            // One assignment at a time across processes: two machines never get one free address.
            scope.LockGlobal(NetworkLock);
            var machine = await scope.QueryAsync(
                r => r.IsDBNull(0) ? null : r.GetString(0),
                Statement("SELECT network_address FROM machines WHERE id = $1 AND phase <> 'destroyed'", machineId)).ConfigureAwait(false);
            if (machine.Count == 0)
            {
                return null;
            }

            if (machine[0] is { } held && keep(held))
            {
                return held;
            }

            var used = (await scope.QueryAsync(
                r => r.GetString(0),
                Statement("SELECT network_address FROM machines WHERE network_address IS NOT NULL AND phase <> 'destroyed' AND id <> $1", machineId))
                .ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
            var free = candidates.FirstOrDefault(c => !used.Contains(c));
            if (free is not null)
            {
                await scope.ExecuteAsync("UPDATE machines SET network_address = $2 WHERE id = $1", machineId, free).ConfigureAwait(false);
            }

            return free;
        }, cancellationToken);

    private static MachineRecord ReadMachine(DbDataReader r) => StoreRows.ReadMachine(r);
}
