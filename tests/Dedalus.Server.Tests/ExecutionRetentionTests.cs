using System.Net;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.Server.Reconciliation;
using Dedalus.Server.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Dedalus.Server.Tests;

/// <summary>
/// Finished executions leave the store: after <c>ExecutionRetention</c>, and beyond a machine's newest
/// <c>ExecutionsKeptPerMachine</c>. Real SQLite and a fake clock; the in-memory runtime runs no process, so every
/// execution here ends at once as <c>start_failed</c> (the retention logic does not care how it ended).
/// </summary>
public sealed class ExecutionRetentionTests : ServerTestBase
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);

    protected override Task<RunningServer> StartServerAsync(string dataDirectory) => RunningServer.StartAsync(
        dataDirectory, _clock, ["--Dedalus:SweepInterval", "45.00:00:00", "--Dedalus:ExecutionRetention", "02:00:00", "--Dedalus:ExecutionsKeptPerMachine", "3"]);

    [Fact]
    public async Task A_finished_execution_is_deleted_with_its_events_once_its_retention_has_passed()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var execution = await FinishedAsync(machine.MachineId);
        Assert.Equal(execution.CompletedAt + TimeSpan.FromHours(2), execution.ExpiresAt);

        _clock.Advance(TimeSpan.FromHours(2) - TimeSpan.FromMinutes(1));
        await Server.Service<MaintenanceService>().RunOnceAsync();
        Assert.Equal(HttpStatusCode.OK, (await Api.GetAsync($"/v1/machines/{machine.MachineId}/executions/{execution.ExecutionId}")).Status);

        _clock.Advance(TimeSpan.FromMinutes(2));
        await Server.Service<MaintenanceService>().RunOnceAsync();
        foreach (var path in (string[])["", "/events", "/output"])
        {
            var gone = await Api.GetAsync($"/v1/machines/{machine.MachineId}/executions/{execution.ExecutionId}{path}");
            Assert.Equal(HttpStatusCode.NotFound, gone.Status);
        }
    }

    [Fact]
    public async Task A_machine_keeps_its_newest_finished_executions_only()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var other = await Api.CreateRunningMachineAsync();
        var kept = await FinishedAsync(other.MachineId);
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await FinishedAsync(machine.MachineId)).ExecutionId);
        }

        var list = JsonSerializer.Deserialize((await Api.GetAsync($"/v1/machines/{machine.MachineId}/executions")).Body, DedalusJsonContext.Default.ExecutionList)!;
        Assert.Equal(ids[^3..], list.Items.Select(e => e.ExecutionId));
        Assert.Equal(HttpStatusCode.OK, (await Api.GetAsync($"/v1/machines/{other.MachineId}/executions/{kept.ExecutionId}")).Status);
    }

    private async Task<Execution> FinishedAsync(string machineId)
    {
        var created = await Api.PostAsync($"/v1/machines/{machineId}/executions", """{"command":["true"]}""");
        Assert.True(created.Status == HttpStatusCode.OK, created.ToString());
        var id = JsonSerializer.Deserialize(created.Body, DedalusJsonContext.Default.Execution)!.ExecutionId;
        for (var i = 0; i < 600; i++)
        {
            var execution = JsonSerializer.Deserialize((await Api.GetAsync($"/v1/machines/{machineId}/executions/{id}")).Body, DedalusJsonContext.Default.Execution)!;
            if (ExecutionStatuses.IsFinished(execution.Status))
            {
                Assert.Equal(ExecutionErrorCodes.StartFailed, execution.ErrorCode);
                return execution;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"execution {id} did not finish");
    }
}
