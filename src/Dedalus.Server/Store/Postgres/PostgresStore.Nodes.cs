using System.Data.Common;

namespace Dedalus.Server.Store.Postgres;

public sealed partial class PostgresStore
{
    private const string NodeColumns =
        "id, name, gateway_hosts, gateway_port_low, gateway_port_high, vcpu, memory_mib, storage_gib, started_at, heartbeat_at, ca_fingerprint";

    private static string NodeColumnsOf(string alias) => string.Join(", ", NodeColumns.Split(", ").Select(c => alias + "." + c));

    public Task RegisterNodeAsync(NodeRecord node, CancellationToken cancellationToken = default) =>
        WriteAsync(async scope =>
        {
            // Under the machines lock: placement reads the nodes under it too.
            scope.LockGlobal(MachinesLock);
            await scope.ExecuteAsync(
                Statement(
                    $"INSERT INTO nodes ({NodeColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) " +
                    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, gateway_hosts = excluded.gateway_hosts, " +
                    "gateway_port_low = excluded.gateway_port_low, gateway_port_high = excluded.gateway_port_high, vcpu = excluded.vcpu, " +
                    "memory_mib = excluded.memory_mib, storage_gib = excluded.storage_gib, started_at = excluded.started_at, " +
                    "heartbeat_at = excluded.heartbeat_at, ca_fingerprint = excluded.ca_fingerprint",
                    node.Id, node.Name, string.Join(',', node.GatewayHosts), node.GatewayPortLow, node.GatewayPortHigh, node.Vcpu, node.MemoryMib,
                    node.StorageGib, Ms(node.StartedAt), Ms(node.HeartbeatAt), node.CaFingerprint),
                Statement("UPDATE machines SET node_id = $1 WHERE node_id IS NULL", node.Id)).ConfigureAwait(false);
            return 0;
        }, cancellationToken);

    public async Task<bool> HeartbeatNodeAsync(string nodeId, DateTimeOffset now, long storageGib, string caFingerprint, CancellationToken cancellationToken = default) =>
        await ExecuteAsync(
            "UPDATE nodes SET heartbeat_at = $2, storage_gib = $3, ca_fingerprint = $4 WHERE id = $1", [nodeId, Ms(now), storageGib, caFingerprint], cancellationToken)
            .ConfigureAwait(false) > 0;

    public async Task<IReadOnlyList<NodeRecord>> ListNodesAsync(CancellationToken cancellationToken = default) =>
        await QueryAsync($"SELECT {NodeColumns} FROM nodes ORDER BY id", [], ReadNode, cancellationToken).ConfigureAwait(false);

    private static NodeRecord ReadNode(DbDataReader r) => StoreRows.ReadNode(r);
}
