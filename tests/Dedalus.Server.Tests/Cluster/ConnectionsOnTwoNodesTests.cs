using System.Net;
using Dedalus.Contracts;
using Dedalus.Gateway;
using Dedalus.Server.Cluster;
using Dedalus.Server.Connections;
using Dedalus.Server.Gateway;
using Dedalus.Server.Store;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Dedalus.Testing.Postgres;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Dedalus.Server.Tests.Cluster;

/// <summary>
/// A machine's live SSH connections read through a node that does not own the machine: two nodes in this process on one
/// PostgreSQL database, the machine on node a, whose gateway is simulated (<see cref="SettableLiveConnections"/>: the
/// in-memory runtime starts no sshd) and published by node a's real publisher; node b reads the store. The real gateway,
/// ssh and runc are <see cref="SshConnectionsRuncTests"/>.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ConnectionsOnTwoNodesTests(PostgresFixture postgres) : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _ca = new();
    private readonly TempDirectory _dataA = new();
    private readonly TempDirectory _dataB = new();
    private readonly SettableLiveConnections _gatewayA = new();
    private string _database = "";
    private RunningServer _a = null!;
    private RunningServer _b = null!;

    public async Task InitializeAsync()
    {
        _database = postgres.Server.ConnectionUrl(PostgresServer.DatabaseOf(await postgres.Server.CreateDatabaseAsync()));
        _a = await StartNodeAsync(_dataA, "a", vcpu: "64", _gatewayA);
        _b = await StartNodeAsync(_dataB, "b", vcpu: "1", new SettableLiveConnections());
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        _dataA.Dispose();
        _dataB.Dispose();
        _ca.Dispose();
    }

    [Fact]
    public async Task A_connection_on_node_as_machine_is_listed_live_through_node_b_and_disappears_when_node_a_is_lost()
    {
        using var viaB = await _b.NewClientAsync();
        var orgId = viaB.OrgId;

        // Node b offers 1 vCPU: a 2-vCPU machine goes to a.
        var created = (await viaB.PostAsync("/v1/machines", """{"vcpu":2,"memory_mib":1024,"storage_gib":10}""")).Machine();
        await viaB.WaitForPhaseAsync(created.MachineId, MachinePhases.Running);
        var machineId = MachineIds.Format(Guid.Parse(created.MachineId));
        var nodeA = _a.Service<LocalNode>().Id;
        Assert.Equal(nodeA, (await _a.Service<IStore>().GetMachineAsync(machineId))!.NodeId);
        var started = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 5000);
        var connection = new GatewayConnectionSnapshot(7, machineId, "127.0.0.1:40007", started, "ss-00000000000000c7", 77, 1000, 2000);
        _gatewayA.Set(connection);

        // Through b: what a's gateway saw, from the store.
        var throughB = await WaitForLiveAsync(_b, orgId, created.MachineId, c => c.SessionId == connection.SessionId);
        Assert.Equal(("127.0.0.1:40007", started, 1000L, 2000L), (throughB.Peer, throughB.StartedAt, throughB.BytesIn, throughB.BytesOut));
        var wire = await viaB.GetAsync($"/v1/machines/{created.MachineId}/ssh/connections");
        Assert.Equal(HttpStatusCode.OK, wire.Status);
        Assert.Contains("\"session_id\":\"ss-00000000000000c7\"", wire.Body, StringComparison.Ordinal);
        Assert.Contains("\"peer\":\"127.0.0.1:40007\"", wire.Body, StringComparison.Ordinal);

        // Its bytes grow on a; b follows within a tick. a itself reads its gateway.
        _gatewayA.Set(connection with { BytesFromClient = 9_000_000, BytesToClient = 4000 });
        await WaitForLiveAsync(_b, orgId, created.MachineId, c => c.BytesIn == 9_000_000 && c.BytesOut == 4000);
        var throughA = Assert.Single((await _a.Service<SshConnections>().ListLiveAsync(orgId, created.MachineId)).Items);
        Assert.Equal((connection.SessionId, connection.PeerAddress, started, 9_000_000L), (throughA.SessionId, throughA.Peer, throughA.StartedAt, throughA.BytesIn));

        // Node a goes silent with the connection's row still stored: b stops listing it once a is lost.
        await _a.DisposeAsync();
        Assert.True(
            await Eventually.TrueAsync(async () => (await _b.Service<SshConnections>().ListLiveAsync(orgId, created.MachineId)).Items.Count == 0, Wait),
            "the connection of a lost node still reads live");
        Assert.NotNull(_b.Service<NodeDirectory>().LostOwner(nodeA));
        Assert.Single(await _b.Service<IStore>().ListLiveConnectionsAsync(machineId));

        // Back, a starts with nothing open: its left-over row is gone, not only hidden.
        _gatewayA.Set();
        _a = await StartNodeAsync(_dataA, "a", vcpu: "64", _gatewayA);
        Assert.Empty(await _b.Service<IStore>().ListLiveConnectionsAsync(machineId));
    }

    [Fact]
    public async Task A_connection_that_ends_on_node_a_leaves_node_bs_live_list_and_reads_in_its_history()
    {
        using var viaB = await _b.NewClientAsync();
        var created = (await viaB.PostAsync("/v1/machines", """{"vcpu":2,"memory_mib":1024,"storage_gib":10}""")).Machine();
        await viaB.WaitForPhaseAsync(created.MachineId, MachinePhases.Running);
        var machineId = MachineIds.Format(Guid.Parse(created.MachineId));
        var started = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 3000);
        var connection = new GatewayConnectionSnapshot(8, machineId, "127.0.0.1:40008", started, "ss-00000000000000c8", 88, 300, 400);
        _gatewayA.Set(connection);
        await WaitForLiveAsync(_b, viaB.OrgId, created.MachineId, c => c.SessionId == connection.SessionId);

        // What a's gateway does as the connection ends: out of its tables, then its audit row through the ledger.
        _gatewayA.Set();
        var ended = started + TimeSpan.FromSeconds(3);
        await _a.Service<LiveConnectionLedger>().RecordEndedAsync(
            new ConnectionAudit(machineId, connection.SessionId, connection.Serial, connection.PeerAddress, started, ended, 300, 400, GatewayConnectionEnd.ClientClosed.ToWireName(), null),
            connection.ConnectionId);

        Assert.Empty((await _b.Service<SshConnections>().ListLiveAsync(viaB.OrgId, created.MachineId)).Items);
        var history = await viaB.GetAsync($"/v1/machines/{created.MachineId}/ssh/connections/history?limit=5");
        Assert.Equal(HttpStatusCode.OK, history.Status);
        var finished = System.Text.Json.JsonSerializer.Deserialize(history.Body, ConnectionsJsonContext.Default.FinishedSshConnectionList)!;
        Assert.Equal(
            new FinishedSshConnection(connection.SessionId, connection.PeerAddress, started, ended, 300, 400, "client_closed"),
            Assert.Single(finished.Items));
        Assert.Null(finished.NextCursor);
    }

    private static async Task<LiveSshConnection> WaitForLiveAsync(RunningServer node, string orgId, string machineId, Func<LiveSshConnection, bool> match)
    {
        LiveSshConnectionList? last = null;
        var found = await Eventually.TrueAsync(async () => (last = await node.Service<SshConnections>().ListLiveAsync(orgId, machineId)).Items.Any(match), Wait);
        Assert.True(found, $"not listed live: {(last is null ? "nothing" : string.Join(", ", last.Items))}");
        return last!.Items.Single(match);
    }

    private Task<RunningServer> StartNodeAsync(TempDirectory data, string name, string vcpu, SettableLiveConnections gateway) =>
        RunningServer.StartAsync(
            data.Path,
            extraArgs:
            [
                "--ca-dir", _ca.Path, "--node-name", name, "--node-vcpu", vcpu, "--gateway-host", $"gw-{name}.test",
                "--Dedalus:NodeHeartbeatInterval", "00:00:00.200", "--Dedalus:NodeLostAfter", "00:00:03",
            ],
            database: _database,
            services: services =>
            {
                services.RemoveAll<ILiveConnections>();
                services.AddSingleton<ILiveConnections>(gateway);
            });
}
