using System.Net.Sockets;
using System.Text;
using Dedalus.Contracts;
using Dedalus.Gateway;
using Dedalus.Server.Gateway;
using Dedalus.Server.Store;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Server.Tests;

/// <summary>The in-process gateway: listeners follow machines, and the backend answers admission, wake and audit.</summary>
public sealed class GatewayWiringTests : ServerTestBase
{
    private readonly int _port = FreePort.Next();

    protected override Task<RunningServer> StartServerAsync(string dataDirectory) => RunningServer.StartAsync(
        dataDirectory, extraArgs: ["--gateway", "true", "--gateway-ports", $"{_port}-{_port}", "--gateway-bind", "127.0.0.1", "--quota-machines", "2"]);

    [Fact]
    public async Task A_created_machine_gets_a_gateway_listener_on_its_port_and_a_second_machine_finds_the_range_full()
    {
        var machine = await Api.CreateRunningMachineAsync();

        using var client = new TcpClient();
        using var cts = new CancellationTokenSource(RunningServer.Timeout);
        await client.ConnectAsync("127.0.0.1", _port, cts.Token);
        // The gateway starts nothing until the client's SSH identification line.
        await client.GetStream().WriteAsync("SSH-2.0-WiringTest\r\n"u8.ToArray(), cts.Token);
        var buffer = new byte[512];
        var read = await client.GetStream().ReadAsync(buffer, cts.Token);
        var full = await Api.PostAsync("/v1/machines", """{"vcpu":1,"memory_mib":1024,"storage_gib":10}""");

        // The in-memory runtime cannot start sshd: the gateway says so in one line and closes.
        Assert.Contains("dedalus-gateway", Encoding.ASCII.GetString(buffer, 0, read), StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, full.Status);
        Assert.Equal(ErrorCodes.DependencyUnavailable, full.Error().ErrorCode);
        Assert.Equal(_port, (await Server.Service<IStore>().GetMachineAsync(machine.StoreId()))!.GatewayPort);
    }

    [Fact]
    public async Task Admission_follows_the_machine_and_its_live_sessions_and_wake_returns_when_it_runs()
    {
        var backend = Server.Service<GatewayBackend>();
        var machine = await Api.CreateRunningMachineAsync();
        using var cts = new CancellationTokenSource(RunningServer.Timeout);

        Assert.Equal(GatewayAdmission.Running, await backend.AdmitAsync(machine.StoreId(), cts.Token));
        Assert.Equal(GatewayAdmission.Unknown, await backend.AdmitAsync($"dm-{Guid.NewGuid()}", cts.Token));

        var session = (await Api.OpenSessionAsync(machine.MachineId)).Session();
        await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Sleeping);
        Assert.Equal(GatewayAdmission.SleepingWithLiveSession, await backend.AdmitAsync(machine.StoreId(), cts.Token));

        await backend.WakeAsync(machine.StoreId(), cts.Token);
        Assert.Equal(MachinePhases.Running, (await Api.GetAsync($"/v1/machines/{machine.MachineId}")).Machine().Phase);

        await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}");
        await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Sleeping);
        Assert.Equal(GatewayAdmission.SleepingWithoutLiveSession, await backend.AdmitAsync(machine.StoreId(), cts.Token));

        await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}");
        Assert.Equal(GatewayAdmission.Deleted, await backend.AdmitAsync(machine.StoreId(), cts.Token));
    }

    [Fact]
    public async Task A_finished_connection_is_recorded_and_counts_as_activity()
    {
        var backend = Server.Service<GatewayBackend>();
        var machine = await Api.CreateRunningMachineAsync();
        var store = Server.Service<IStore>();
        var before = (await store.GetMachineAsync(machine.StoreId()))!.LastActivityAt;
        var ended = DateTimeOffset.UtcNow.AddSeconds(5);

        await backend.RecordConnectionAsync(
            new GatewayConnectionRecord(1, machine.StoreId(), "ss-00", 42, "127.0.0.1:5555", ended.AddSeconds(-3), ended, 100, 200, GatewayConnectionEnd.ClientClosed, null, []),
            CancellationToken.None);

        var after = (await store.GetMachineAsync(machine.StoreId()))!.LastActivityAt;
        Assert.True(after > before);
        Assert.Equal(ended.ToUnixTimeMilliseconds(), after.ToUnixTimeMilliseconds());
    }
}
