using Dedalus.Contracts;
using Dedalus.Server.Gateway;
using Dedalus.Server.Reconciliation;
using Dedalus.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Dedalus.Server.Tests;

/// <summary>Session expiry and autosleep on a fake clock.</summary>
public sealed class TimeTests : ServerTestBase
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly SettableOpenConnections _connections = new();

    protected override Task<RunningServer> StartServerAsync(string dataDirectory) => RunningServer.StartAsync(
        dataDirectory, _clock, ["--session-ttl", "00:10:00", "--Dedalus:SweepInterval", "40.00:00:00"], services: s => s.AddSingleton<IOpenConnections>(_connections));

    [Fact]
    public async Task A_session_reads_as_expired_at_its_ttl_without_a_connection_and_the_read_writes_nothing()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var session = (await Api.OpenSessionAsync(machine.MachineId)).Session();
        Assert.Equal(_clock.GetUtcNow().AddMinutes(10).ToUnixTimeMilliseconds(), session.ExpiresAt!.Value.ToUnixTimeMilliseconds());

        _clock.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(SshSessionStatuses.Ready, (await Api.GetAsync($"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}")).Session().Status);

        _clock.Advance(TimeSpan.FromMinutes(2));
        var expired = (await Api.GetAsync($"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}")).Session();

        Assert.Equal(SshSessionStatuses.Expired, expired.Status);
        Assert.Null(expired.Connection);
        var stored = await Server.Service<Dedalus.Server.Store.IStore>().GetSessionAsync(session.SessionId);
        Assert.Equal(SshSessionStatuses.Ready, stored!.Status); // reads never write: the sweeper stores the expiry
    }

    [Fact]
    public async Task The_sweeper_persists_expiry_of_every_lapsed_session()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var session = (await Api.OpenSessionAsync(machine.MachineId)).Session();

        _clock.Advance(TimeSpan.FromMinutes(11));
        await Server.Service<MaintenanceService>().RunOnceAsync();

        var stored = await Server.Service<Dedalus.Server.Store.IStore>().GetSessionAsync(session.SessionId);
        Assert.Equal(SshSessionStatuses.Expired, stored!.Status);
    }

    [Fact]
    public async Task An_idle_machine_sleeps_after_its_autosleep_and_activity_postpones_it()
    {
        var machine = await Api.CreateRunningMachineAsync("""{"vcpu":1,"memory_mib":1024,"storage_gib":10,"autosleep":"60s"}""");
        var maintenance = Server.Service<MaintenanceService>();

        _clock.Advance(TimeSpan.FromSeconds(50));
        await Api.OpenSessionAsync(machine.MachineId);
        _clock.Advance(TimeSpan.FromSeconds(50));
        Assert.Equal(0, await maintenance.AutosleepAsync());
        Assert.Equal(DesiredStates.Running, (await Api.GetAsync($"/v1/machines/{machine.MachineId}")).Machine().DesiredState);

        _clock.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(1, await maintenance.AutosleepAsync());
        var asleep = await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Sleeping);

        Assert.Equal(DesiredStates.Sleeping, asleep.DesiredState);
        Assert.Equal("autosleep", asleep.Status.Reason);
    }

    [Fact]
    public async Task An_open_gateway_connection_keeps_an_idle_machine_awake()
    {
        var machine = await Api.CreateRunningMachineAsync("""{"vcpu":1,"memory_mib":1024,"storage_gib":10,"autosleep":"30s"}""");
        _connections.Set(machine.StoreId(), 1);

        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(0, await Server.Service<MaintenanceService>().AutosleepAsync());

        _connections.Set(machine.StoreId(), 0);
        _clock.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(1, await Server.Service<MaintenanceService>().AutosleepAsync());
    }

    [Fact]
    public async Task A_machine_with_autosleep_never_does_not_sleep()
    {
        var machine = await Api.CreateRunningMachineAsync("""{"vcpu":1,"memory_mib":1024,"storage_gib":10,"autosleep":"never"}""");
        Assert.Equal(0, machine.AutosleepSeconds);

        _clock.Advance(TimeSpan.FromDays(30));

        Assert.Equal(0, await Server.Service<MaintenanceService>().AutosleepAsync());
        Assert.Equal(MachinePhases.Running, (await Api.GetAsync($"/v1/machines/{machine.MachineId}")).Machine().Phase);
    }

    [Fact]
    public async Task Idempotency_records_are_kept_for_a_day_and_then_pruned()
    {
        var key = new Dictionary<string, string> { ["Idempotency-Key"] = "day-old" };
        const string Body = """{"vcpu":1,"memory_mib":1024,"storage_gib":10}""";
        var first = await Api.PostAsync("/v1/machines", Body, key);

        _clock.Advance(TimeSpan.FromHours(23));
        await Server.Service<MaintenanceService>().RunOnceAsync();
        var replay = await Api.PostAsync("/v1/machines", Body, key);
        _clock.Advance(TimeSpan.FromHours(2));
        await Server.Service<MaintenanceService>().RunOnceAsync();
        var fresh = await Api.PostAsync("/v1/machines", Body, key);

        Assert.Equal(first.Machine().MachineId, replay.Machine().MachineId);
        Assert.NotEqual(first.Machine().MachineId, fresh.Machine().MachineId);
        var machine = first.Machine().StoreId();
        Assert.NotEmpty(await Server.Service<Dedalus.Server.Store.IStore>().GetMachineEventsAsync(machine, 0));
    }
}
