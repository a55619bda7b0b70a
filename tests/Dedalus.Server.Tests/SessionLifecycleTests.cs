using Dedalus.Contracts;
using Dedalus.OpenSsh;
using Dedalus.Server.Reconciliation;
using Dedalus.Server.Sessions;
using Dedalus.Server.Store;
using Dedalus.Server.Tests.Infrastructure;

namespace Dedalus.Server.Tests;

/// <summary>One owner of session status: the machine's transitions decide it, and reading a session never writes one.</summary>
public sealed class SessionLifecycleTests : ServerTestBase
{
    private IStore Store => Server.Service<IStore>();

    [Fact]
    public async Task Reading_a_waiting_session_of_a_running_machine_writes_nothing_and_the_next_reconciler_pass_makes_it_ready()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var stored = await Store.GetMachineAsync(machine.StoreId());
        var waiting = StoredRecords.Session(stored!, SshSessionStatuses.WakeInProgress);
        await Store.InsertSessionAsync(waiting); // as if stored just before the machine's last transition

        var read = (await Api.GetAsync($"/v1/machines/{machine.MachineId}/ssh/{waiting.Id}")).Session();
        var listed = (await Api.GetAsync($"/v1/machines/{machine.MachineId}/ssh")).SessionList();

        Assert.Equal(SshSessionStatuses.WakeInProgress, read.Status);
        Assert.Equal(SshSessionStatuses.WakeInProgress, Assert.Single(listed.Items).Status);
        Assert.Equal(SshSessionStatuses.WakeInProgress, (await Store.GetSessionAsync(waiting.Id))!.Status);

        Server.Service<MachineWorkQueue>().Kick(machine.StoreId());
        await Server.SettleAsync();

        Assert.Equal(SshSessionStatuses.Ready, (await Store.GetSessionAsync(waiting.Id))!.Status);
    }

    [Fact]
    public async Task A_session_opened_from_a_stale_read_of_a_machine_destroyed_meanwhile_ends_at_once()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var stale = (await Store.GetMachineAsync(machine.StoreId()))!;
        await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}");
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Destroyed);

        var session = await Server.Service<SessionLifecycle>().OpenAsync(stale, SshPublicKey.Parse(TestKeys.Ed25519));

        Assert.Equal(SshSessionStatuses.Closed, session.Status);
        Assert.Equal(ErrorCodes.MachineDestroyed, session.ErrorCode);
        var revoked = await Store.ListRevokedSerialsAsync(DateTimeOffset.UtcNow);
        Assert.Contains(session.Serial, revoked);
    }

    [Fact]
    public async Task A_session_opened_from_a_stale_read_of_a_sleeping_machine_that_runs_meanwhile_is_ready()
    {
        var machine = await Api.CreateRunningMachineAsync();
        await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Sleeping);
        var stale = (await Store.GetMachineAsync(machine.StoreId()))!;
        await Api.PostAsync($"/v1/machines/{machine.MachineId}/wake", null);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Running);

        var session = await Server.Service<SessionLifecycle>().OpenAsync(stale, SshPublicKey.Parse(TestKeys.Ed25519));

        Assert.Equal(SshSessionStatuses.Ready, session.Status);
        Assert.NotNull(session.Certificate);
    }

    [Fact]
    public void An_open_session_past_its_expiry_reads_as_expired_and_an_ended_one_reads_as_it_is()
    {
        var machine = StoredRecords.Machine("org", MachinePhases.Running, "running", DateTimeOffset.UnixEpoch);
        var ready = StoredRecords.Session(machine, SshSessionStatuses.Ready);
        var after = ready.ExpiresAt + TimeSpan.FromMilliseconds(1);

        Assert.Equal(SshSessionStatuses.Ready, SessionLifecycle.AsOf(ready, ready.ExpiresAt - TimeSpan.FromSeconds(1)).Status);
        Assert.Equal(SshSessionStatuses.Expired, SessionLifecycle.AsOf(ready, after).Status);
        Assert.Equal(SshSessionStatuses.Expired, SessionLifecycle.AsOf(ready with { Status = SshSessionStatuses.WakeInProgress }, after).Status);
        Assert.Equal(SshSessionStatuses.Closed, SessionLifecycle.AsOf(ready with { Status = SshSessionStatuses.Closed }, after).Status);
        Assert.Equal(SshSessionStatuses.Failed, SessionLifecycle.AsOf(ready with { Status = SshSessionStatuses.Failed }, after).Status);
    }
}
