using System.Net;
using System.Text;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.Server.Cluster;
using Dedalus.Server.Executions;
using Dedalus.Server.Reconciliation;
using Dedalus.Server.Store;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace Dedalus.Server.Tests.Executions;

/// <summary>
/// Executions whose machine is another node's: stored unclaimed with their input sealed and signalled to the owner; the
/// owner claims them (on the signal, at start-up, at its sweep) and runs them; a cancel asked elsewhere is recorded and
/// waited for. One server on real SQLite plays one node; the test plays the other node through the cluster bus and the
/// store (two servers cannot share one SQLite file). The in-memory runtime records what it was asked to run (and runs
/// nothing: those executions end as <c>start_failed</c>).
/// </summary>
public sealed class ExecutionHandoffTests : ServerTestBase
{
    private static readonly string OtherNode = "node-" + Guid.CreateVersion7().ToString("D");
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);

    private TestClusterBus Bus { get; set; } = null!;

    protected override Task<RunningServer> StartServerAsync(string dataDirectory)
    {
        var bus = Bus = new TestClusterBus();
        return RunningServer.StartAsync(dataDirectory, _clock, ["--Dedalus:SweepInterval", "45.00:00:00"], services: s =>
        {
            s.RemoveAll<IClusterBus>();
            s.AddSingleton<IClusterBus>(bus);
        });
    }

    [Fact]
    public async Task An_unclaimed_execution_of_a_machine_of_this_node_is_claimed_on_the_signal_and_run_with_its_sealed_input()
    {
        var machineId = await RunningMachineAsync();
        var execution = await StoreUnclaimedAsync(machineId, new Dictionary<string, string> { ["TOKEN"] = "s3cret" }, "/srv/work", "hello");
        var store = Server.Service<IStore>();
        var supervisor = Server.Service<ExecutionSupervisor>();
        Assert.Contains(await store.ListUnclaimedExecutionsAsync(), e => e.Id == execution.Id);
        Assert.DoesNotContain(await store.ListOrphanedExecutionsAsync(supervisor.RunnerId), e => e.Id == execution.Id);

        Bus.Deliver(new ClusterSignal(ClusterSignalKind.Execution, execution.Id, Server.Service<LocalNode>().Id));

        var finished = await FinishedAsync(execution.Id);
        Assert.Equal(supervisor.RunnerId, finished.Runner);
        Assert.Equal(ExecutionErrorCodes.StartFailed, finished.ErrorCode);
        var asked = Assert.Single(Server.Runtime.ExecutionRequests, r => r.Name == ExecutionIds.RuntimeName(execution.Id));
        Assert.Equal(execution.Command, asked.Arguments);
        Assert.Equal("/srv/work", asked.WorkingDirectory);
        Assert.Equal("s3cret", asked.Environment["TOKEN"]);
        Assert.Null(await SealedInputAsync(execution.Id));
        Assert.Null(await store.ClaimExecutionAsync(execution.Id, "r-late"));
        Assert.DoesNotContain(await store.ListUnclaimedExecutionsAsync(), e => e.Id == execution.Id);

        // Its changes go to the other nodes too (their followers read the store again).
        Assert.True(await Eventually.TrueAsync(() => Bus.Sent.Contains(new ClusterSignal(ClusterSignalKind.Execution, execution.Id, Server.Service<LocalNode>().Id))));
    }

    [Fact]
    public async Task A_create_on_a_machine_of_another_node_is_stored_unclaimed_with_its_input_sealed_and_that_node_is_signalled()
    {
        var machineId = await RunningMachineAsync();
        await GiveToOtherNodeAsync(machineId);

        var created = await Api.PostAsync($"/v1/machines/{Uuid(machineId)}/executions", """{"command":["cat"],"env":{"TOKEN":"s3cret-value"},"stdin":"stdin-text"}""");

        Assert.True(created.Status == HttpStatusCode.OK, created.ToString());
        var id = JsonSerializer.Deserialize(created.Body, DedalusJsonContext.Default.Execution)!.ExecutionId;
        var stored = (await Server.Service<IStore>().GetExecutionAsync(id))!;
        Assert.True(stored.IsUnclaimed);
        Assert.Equal(ExecutionStatuses.Queued, stored.Status);
        Assert.Contains(new ClusterSignal(ClusterSignalKind.Execution, id, OtherNode), Bus.Sent);

        var sealedInput = await SealedInputAsync(id);
        Assert.NotNull(sealedInput);
        var text = Encoding.Latin1.GetString(sealedInput);
        Assert.DoesNotContain("s3cret-value", text, StringComparison.Ordinal);
        Assert.DoesNotContain("stdin-text", text, StringComparison.Ordinal);
        var opened = Server.Service<ExecutionInputSeal>().Open(stored, sealedInput);
        Assert.NotNull(opened);
        Assert.Equal("s3cret-value", opened.Env["TOKEN"]);
        Assert.Equal("stdin-text"u8.ToArray(), opened.Stdin);

        // Not this node's to run, even at its sweep.
        await Server.Service<MaintenanceService>().RunOnceAsync();
        Assert.True((await Server.Service<IStore>().GetExecutionAsync(id))!.IsUnclaimed);
        Assert.DoesNotContain(Server.Runtime.ExecutionRequests, r => r.Name == ExecutionIds.RuntimeName(id));
    }

    [Fact]
    public async Task A_cancel_on_a_node_that_does_not_own_the_machine_is_recorded_signalled_and_answered_once_the_owner_ended_it()
    {
        var machineId = await RunningMachineAsync();
        await GiveToOtherNodeAsync(machineId);
        var created = await Api.PostAsync($"/v1/machines/{Uuid(machineId)}/executions", """{"command":["sleep","600"]}""");
        var id = JsonSerializer.Deserialize(created.Body, DedalusJsonContext.Default.Execution)!.ExecutionId;
        var store = Server.Service<IStore>();

        // The owner (the test) claims and runs it.
        var claimed = (await store.ClaimExecutionAsync(id, "r-owner"))!;
        var running = (await store.UpdateExecutionAsync(
            claimed.Execution with { Status = ExecutionStatuses.Running, StartedAt = _clock.GetUtcNow() },
            [new ExecutionEventRecord { Type = ExecutionEventTypes.Lifecycle, At = _clock.GetUtcNow(), Status = ExecutionStatuses.Running }], 100))!;

        var cancel = Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{Uuid(machineId)}/executions/{id}");
        Assert.True(await Eventually.TrueAsync(() => Bus.Sent.Count(s => s == new ClusterSignal(ClusterSignalKind.Execution, id, OtherNode)) == 2));
        Assert.True((await store.GetExecutionAsync(id))!.CancelRequested);
        Assert.False(cancel.IsCompleted);

        var final = new ExecutionEventRecord { Type = ExecutionEventTypes.Lifecycle, At = _clock.GetUtcNow(), Status = ExecutionStatuses.Cancelled, ErrorCode = ExecutionErrorCodes.Cancelled };
        await store.UpdateExecutionAsync(running with { Status = ExecutionStatuses.Cancelled, CompletedAt = _clock.GetUtcNow(), ErrorCode = ExecutionErrorCodes.Cancelled }, [final], 100);
        Bus.Deliver(new ClusterSignal(ClusterSignalKind.Execution, id, OtherNode));

        var answer = await cancel;
        Assert.True(answer.Status == HttpStatusCode.OK, answer.ToString());
        Assert.Equal(ExecutionStatuses.Cancelled, JsonSerializer.Deserialize(answer.Body, DedalusJsonContext.Default.Execution)!.Status);
    }

    [Fact]
    public async Task Unclaimed_executions_are_claimed_at_start_up_and_another_nodes_left_unclaimed_too_long_end_as_failed()
    {
        var ours = await RunningMachineAsync();
        var theirs = await RunningMachineAsync();
        await GiveToOtherNodeAsync(theirs);
        var mine = await StoreUnclaimedAsync(ours, new Dictionary<string, string> { ["A"] = "1" }, null, "");
        var forgotten = await StoreUnclaimedAsync(theirs, new Dictionary<string, string> { ["B"] = "2" }, null, "x");

        await RestartServerAsync();

        var finished = await FinishedAsync(mine.Id);
        Assert.Equal(Server.Service<ExecutionSupervisor>().RunnerId, finished.Runner);
        Assert.Equal("1", Assert.Single(Server.Runtime.ExecutionRequests).Environment["A"]);
        Assert.True((await Server.Service<IStore>().GetExecutionAsync(forgotten.Id))!.IsUnclaimed);

        _clock.Advance(ExecutionSupervisor.UnclaimedLimit + TimeSpan.FromSeconds(1));
        await Server.Service<MaintenanceService>().RunOnceAsync();

        var ended = (await Server.Service<IStore>().GetExecutionAsync(forgotten.Id))!;
        Assert.Equal(ExecutionStatuses.Failed, ended.Status);
        Assert.Equal(ExecutionErrorCodes.MachineFailed, ended.ErrorCode);
        Assert.Contains(OtherNode, ended.ErrorMessage, StringComparison.Ordinal);
        Assert.Null(await SealedInputAsync(forgotten.Id));
        Assert.Single(Server.Runtime.ExecutionRequests);
    }

    [Fact]
    public async Task A_cancel_request_is_recorded_only_while_the_execution_is_live_and_an_ended_execution_keeps_no_sealed_input()
    {
        var machineId = await RunningMachineAsync();
        await GiveToOtherNodeAsync(machineId);
        var execution = await StoreUnclaimedAsync(machineId, new Dictionary<string, string>(), null, "in");
        var store = Server.Service<IStore>();
        Assert.NotNull(await SealedInputAsync(execution.Id));

        Assert.True((await store.RequestExecutionCancelAsync(execution.Id))!.CancelRequested);
        var final = new ExecutionEventRecord { Type = ExecutionEventTypes.Lifecycle, At = _clock.GetUtcNow(), Status = ExecutionStatuses.Failed };
        Assert.NotNull(await store.UpdateExecutionAsync(execution with { Status = ExecutionStatuses.Failed, CompletedAt = _clock.GetUtcNow() }, [final], 100));

        Assert.Null(await SealedInputAsync(execution.Id));
        Assert.Null(await store.ClaimExecutionAsync(execution.Id, "r-any"));
        Assert.DoesNotContain(await store.ListUnclaimedExecutionsAsync(), e => e.Id == execution.Id);
        Assert.Null(await store.RequestExecutionCancelAsync(ExecutionIds.New()));
    }

    private async Task<string> RunningMachineAsync() =>
        MachineIds.Format(Guid.Parse((await Api.CreateRunningMachineAsync()).MachineId));

    private static string Uuid(string machineId) => machineId["dm-".Length..];

    private async Task<ExecutionRecord> StoreUnclaimedAsync(string machineId, Dictionary<string, string> env, string? cwd, string stdin)
    {
        var machine = (await Server.Service<IStore>().GetMachineAsync(machineId))!;
        var now = _clock.GetUtcNow();
        var execution = new ExecutionRecord
        {
            Id = ExecutionIds.New(),
            OrgId = machine.OrgId,
            MachineId = machine.Id,
            Status = ExecutionStatuses.Queued,
            Command = ["env"],
            Cwd = cwd ?? "/home/machine",
            EnvKeys = [.. env.Keys],
            TimeoutMs = 60_000,
            Runner = "",
            StreamId = ExecutionIds.NewStream(),
            CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds()),
        };
        var sealedInput = Server.Service<ExecutionInputSeal>().Seal(execution.Id, new ExecutionInput(execution.Command, cwd, env, Encoding.UTF8.GetBytes(stdin), execution.TimeoutMs));
        var created = new ExecutionEventRecord { Type = ExecutionEventTypes.Lifecycle, At = now, Status = ExecutionStatuses.Queued };
        return (await Server.Service<IStore>().InsertExecutionAsync(execution, created, sealedInput: sealedInput))!;
    }

    private async Task<ExecutionRecord> FinishedAsync(string executionId)
    {
        ExecutionRecord? execution = null;
        Assert.True(await Eventually.TrueAsync(async () => (execution = await Server.Service<IStore>().GetExecutionAsync(executionId)) is { IsLive: false }),
            $"execution {executionId} is still {execution?.Status}");
        return execution!;
    }

    /// <summary>Makes the machine another node's in the store, as that node's placement would have.</summary>
    private async Task GiveToOtherNodeAsync(string machineId)
    {
        await using var connection = ConnectionAuditRows.Open(Data.Path, SqliteOpenMode.ReadWrite);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE machines SET node_id = $1 WHERE id = $2";
        command.Parameters.AddWithValue("$1", OtherNode);
        command.Parameters.AddWithValue("$2", machineId);
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    private async Task<byte[]?> SealedInputAsync(string executionId)
    {
        await using var connection = ConnectionAuditRows.Open(Data.Path, SqliteOpenMode.ReadOnly);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT sealed_input FROM executions WHERE id = $1";
        command.Parameters.AddWithValue("$1", executionId);
        return await command.ExecuteScalarAsync() as byte[];
    }
}
