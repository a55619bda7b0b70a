using System.Net;
using Dedalus.Contracts;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Cluster;
using Dedalus.Server.Store;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Dedalus.Testing.Postgres;

namespace Dedalus.Server.Tests.Cluster;

/// <summary>
/// Two nodes in this process, each a whole server with its own data directory and (in-memory) runtime, sharing one
/// PostgreSQL database and one CA directory: what one node is asked takes effect on the other through the database and
/// LISTEN/NOTIFY. The real runc machines, gateways and ssh of several nodes are <c>MultiNodeRuncTests</c>.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class TwoNodesOnPostgresTests(PostgresFixture postgres) : IAsyncLifetime
{
    private readonly TempDirectory _ca = new();
    private readonly TempDirectory _dataA = new();
    private readonly TempDirectory _dataB = new();
    private string _database = "";
    private RunningServer _a = null!;
    private RunningServer _b = null!;

    public async Task InitializeAsync()
    {
        _database = postgres.Server.ConnectionUrl(PostgresServer.DatabaseOf(await postgres.Server.CreateDatabaseAsync()));
        _a = await StartNodeAsync(_dataA, "a", vcpu: "1");
        _b = await StartNodeAsync(_dataB, "b", vcpu: "64");
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
    public async Task A_machine_asked_of_one_node_is_placed_on_the_other_and_driven_there_and_its_sessions_name_that_nodes_gateway()
    {
        using var viaA = await _a.NewClientAsync();

        // Node a offers 1 vCPU: a 2-vCPU machine can only go to b, whose runtime runs it.
        var created = (await viaA.PostAsync("/v1/machines", """{"vcpu":2,"memory_mib":1024,"storage_gib":10}""")).Machine();
        var running = await viaA.WaitForPhaseAsync(created.MachineId, MachinePhases.Running);
        var stored = await _a.Service<IStore>().GetMachineAsync(MachineIds.Format(Guid.Parse(created.MachineId)));
        Assert.Equal(_b.Service<LocalNode>().Id, stored!.NodeId);
        Assert.NotNull(_b.Runtime.GetSpec(created.MachineId));
        Assert.Null(_a.Runtime.GetSpec(created.MachineId));
        Assert.Equal(MachinePhases.Running, running.Phase);

        // Sleep asked of a: b's runtime stops it.
        Assert.Equal(HttpStatusCode.OK, (await viaA.PostAsync($"/v1/machines/{created.MachineId}/sleep", null)).Status);
        await viaA.WaitForPhaseAsync(created.MachineId, MachinePhases.Sleeping);
        Assert.Equal(MachineRuntimeState.Sleeping, await _b.Runtime.GetStateAsync(stored.Id));

        // A session asked of a wakes it on b, and names b's gateway.
        var session = (await viaA.OpenSessionAsync(created.MachineId)).Session();
        Assert.Equal(SshSessionStatuses.Ready, session.Status);
        Assert.Equal("gw-b.test", session.Connection!.Endpoint);
        Assert.Equal(stored.GatewayPort, session.Connection.Port);
        Assert.Contains("[gw-b.test]:*", session.Connection.HostTrust!.HostPattern, StringComparison.Ordinal);
        Assert.Equal(MachinePhases.Running, (await viaA.GetAsync($"/v1/machines/{created.MachineId}")).Machine().Phase);

        // Its deletion through a is revoked in b's trust too (b's machines read b's KRL).
        var trustWrites = _b.Runtime.TrustWrites;
        Assert.Equal(HttpStatusCode.OK, (await viaA.SendAsync(HttpMethod.Delete, $"/v1/machines/{created.MachineId}/ssh/{session.SessionId}")).Status);
        Assert.True(await Eventually.TrueAsync(() => _b.Runtime.TrustWrites > trustWrites), "node b never republished its trust after the session was deleted through node a");
    }

    [Fact]
    public async Task A_node_that_stops_heartbeating_shows_its_machines_lost_and_refuses_their_sessions_until_it_is_back()
    {
        using var viaA = await _a.NewClientAsync();
        var created = (await viaA.PostAsync("/v1/machines", """{"vcpu":2,"memory_mib":1024,"storage_gib":10}""")).Machine();
        await viaA.WaitForPhaseAsync(created.MachineId, MachinePhases.Running);

        await _b.DisposeAsync();

        var lost = await viaA.WaitForPhaseAsync(created.MachineId, MachinePhases.Failed);
        Assert.Equal(NodeLoss.Reason, lost.Status!.Reason);
        Assert.True(lost.Status.Retryable);
        Assert.Contains("node b", lost.Status.LastError, StringComparison.Ordinal);
        Assert.Equal(DesiredStates.Running, lost.DesiredState);
        var refused = await viaA.OpenSessionAsync(created.MachineId);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.Status);
        Assert.Contains("node b", refused.Body, StringComparison.Ordinal);

        // Nothing new goes to the lost node: a's own 1 vCPU is all there is.
        var noRoom = await viaA.PostAsync("/v1/machines", """{"vcpu":2,"memory_mib":1024,"storage_gib":10}""");
        Assert.Equal(HttpStatusCode.Conflict, noRoom.Status);
        Assert.Contains(ErrorCodes.InsufficientCapacity, noRoom.Body, StringComparison.Ordinal);

        _b = await StartNodeAsync(_dataB, "b", vcpu: "64");

        Assert.Equal(MachinePhases.Running, (await viaA.WaitForPhaseAsync(created.MachineId, MachinePhases.Running)).Phase);
        Assert.Equal(SshSessionStatuses.Ready, (await viaA.OpenSessionAsync(created.MachineId)).Session().Status);
    }

    [Fact]
    public async Task An_execution_asked_of_one_node_runs_on_the_node_of_its_machine_with_its_env_and_a_cancel_asked_of_the_first_ends_it_there()
    {
        using var viaA = await _a.NewClientAsync();
        var created = (await viaA.PostAsync("/v1/machines", """{"vcpu":2,"memory_mib":1024,"storage_gib":10}""")).Machine();
        await viaA.WaitForPhaseAsync(created.MachineId, MachinePhases.Running);

        // Asked of a, run by b (whose in-memory runtime records what it is asked, and runs nothing: start_failed).
        var asked = await viaA.PostAsync($"/v1/machines/{created.MachineId}/executions", """{"command":["env"],"cwd":"/srv","env":{"TOKEN":"s3cret value"},"stdin":"in"}""");
        Assert.True(asked.Status == HttpStatusCode.OK, asked.ToString());
        var executionId = System.Text.Json.JsonSerializer.Deserialize(asked.Body, DedalusJsonContext.Default.Execution)!.ExecutionId;
        var finished = await FinishedAsync(viaA, created.MachineId, executionId);
        Assert.Equal(ExecutionErrorCodes.StartFailed, finished.ErrorCode);
        var request = Assert.Single(_b.Runtime.ExecutionRequests);
        Assert.Equal("s3cret value", request.Environment["TOKEN"]);
        Assert.Equal("/srv", request.WorkingDirectory);
        Assert.Empty(_a.Runtime.ExecutionRequests);
        Assert.Equal(_b.Service<Dedalus.Server.Executions.ExecutionSupervisor>().RunnerId, (await _a.Service<IStore>().GetExecutionAsync(executionId))!.Runner);

        // With a runtime that echoes env and stdin, b's command gets a's stdin and env values whole; a reads the output.
        _b.Runtime.RunExecution = r => new EchoExecution(r);
        var echoed = await viaA.PostAsync($"/v1/machines/{created.MachineId}/executions", """{"command":["cat"],"env":{"TOKEN":"s3cret value"},"stdin":"from stdin\n"}""");
        var echoedId = System.Text.Json.JsonSerializer.Deserialize(echoed.Body, DedalusJsonContext.Default.Execution)!.ExecutionId;
        Assert.Equal(ExecutionStatuses.Succeeded, (await FinishedAsync(viaA, created.MachineId, echoedId)).Status);
        var output = System.Text.Json.JsonSerializer.Deserialize(
            (await viaA.GetAsync($"/v1/machines/{created.MachineId}/executions/{echoedId}/output")).Body, DedalusJsonContext.Default.ExecutionOutput)!;
        Assert.Equal("TOKEN=s3cret value\nfrom stdin\n", output.Stdout);

        // One held on b (its machine's wake is held): a cancel asked of a ends it on b, and a's answer shows it.
        Assert.Equal(HttpStatusCode.OK, (await viaA.PostAsync($"/v1/machines/{created.MachineId}/sleep", null)).Status);
        await viaA.WaitForPhaseAsync(created.MachineId, MachinePhases.Sleeping);
        var release = new TaskCompletionSource();
        _b.Runtime.BeforeStart = (_, token) => release.Task.WaitAsync(token);
        try
        {
            var held = await viaA.PostAsync($"/v1/machines/{created.MachineId}/executions", """{"command":["sleep","600"]}""");
            var heldId = System.Text.Json.JsonSerializer.Deserialize(held.Body, DedalusJsonContext.Default.Execution)!.ExecutionId;
            Assert.True(await Eventually.TrueAsync(async () => (await _a.Service<IStore>().GetExecutionAsync(heldId))!.Runner.Length > 0), "node b never claimed the execution");

            var cancelled = await viaA.SendAsync(HttpMethod.Delete, $"/v1/machines/{created.MachineId}/executions/{heldId}");

            Assert.True(cancelled.Status == HttpStatusCode.OK, cancelled.ToString());
            var answer = System.Text.Json.JsonSerializer.Deserialize(cancelled.Body, DedalusJsonContext.Default.Execution)!;
            Assert.Equal(ExecutionStatuses.Cancelled, answer.Status);
            Assert.Equal(ExecutionErrorCodes.Cancelled, answer.ErrorCode);
        }
        finally
        {
            release.TrySetResult();
        }
    }

    private static async Task<Execution> FinishedAsync(ApiClient client, string machineId, string executionId)
    {
        Execution? execution = null;
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            execution = System.Text.Json.JsonSerializer.Deserialize((await client.GetAsync($"/v1/machines/{machineId}/executions/{executionId}")).Body, DedalusJsonContext.Default.Execution);
            return execution is not null && ExecutionStatuses.IsFinished(execution.Status);
        }), $"execution {executionId} is still {execution?.Status}");
        return execution!;
    }

    [Fact]
    public async Task A_node_with_other_ca_keys_than_a_live_node_refuses_to_start_and_says_which()
    {
        using var data = new TempDirectory();
        using var otherCa = new TempDirectory();

        var refusal = await Assert.ThrowsAsync<NodeConflictException>(() => StartNodeAsync(data, "c", vcpu: "4", caDirectory: otherCa.Path));

        Assert.Contains("signs with other CA keys", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("--ca-dir", refusal.Message, StringComparison.Ordinal);
        Assert.Equal(2, (await _a.Service<IStore>().ListNodesAsync()).Count);
    }

    private Task<RunningServer> StartNodeAsync(TempDirectory data, string name, string vcpu, string? caDirectory = null) =>
        RunningServer.StartAsync(
            data.Path,
            extraArgs:
            [
                "--ca-dir", caDirectory ?? _ca.Path, "--node-name", name, "--node-vcpu", vcpu, "--gateway-host", $"gw-{name}.test",
                "--Dedalus:NodeHeartbeatInterval", "00:00:00.200", "--Dedalus:NodeLostAfter", "00:00:03",
            ],
            database: _database);
}
