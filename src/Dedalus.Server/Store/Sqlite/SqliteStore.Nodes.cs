using System.Data.Common;

namespace Dedalus.Server.Store.Sqlite;

public sealed partial class SqliteStore
{
    private const string NodeColumns =
        "id, name, gateway_hosts, gateway_port_low, gateway_port_high, vcpu, memory_mib, storage_gib, started_at, heartbeat_at, ca_fingerprint";

    public Task RegisterNodeAsync(NodeRecord node, CancellationToken cancellationToken = default) =>
        WriteAsync(scope =>
        {
            scope.Execute(
                $"INSERT INTO nodes ({NodeColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) " +
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, gateway_hosts = excluded.gateway_hosts, " +
                "gateway_port_low = excluded.gateway_port_low, gateway_port_high = excluded.gateway_port_high, vcpu = excluded.vcpu, " +
                "memory_mib = excluded.memory_mib, storage_gib = excluded.storage_gib, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, " +
                "ca_fingerprint = excluded.ca_fingerprint",
                node.Id, node.Name, string.Join(',', node.GatewayHosts), node.GatewayPortLow, node.GatewayPortHigh, node.Vcpu, node.MemoryMib,
                node.StorageGib, Ms(node.StartedAt), Ms(node.HeartbeatAt), node.CaFingerprint);
            scope.Execute("UPDATE machines SET node_id = $1 WHERE node_id IS NULL", node.Id);
            return 0;
        }, transaction: true, cancellationToken);

    public Task<bool> HeartbeatNodeAsync(string nodeId, DateTimeOffset now, long storageGib, string caFingerprint, CancellationToken cancellationToken = default) =>
        WriteAsync(
            scope => scope.Execute("UPDATE nodes SET heartbeat_at = $2, storage_gib = $3, ca_fingerprint = $4 WHERE id = $1", nodeId, Ms(now), storageGib, caFingerprint) > 0,
            transaction: false,
            cancellationToken);

    public async Task<IReadOnlyList<NodeRecord>> ListNodesAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(connection, $"SELECT {NodeColumns} FROM nodes ORDER BY id");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var nodes = new List<NodeRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            nodes.Add(ReadNode(reader, 0));
        }

        return nodes;
    }

    private static NodeRecord ReadNode(DbDataReader r, int at) => StoreRows.ReadNode(r, at);
}
