using System.Net;
using Dedalus.Contracts;
using Dedalus.Server.Machines.Api;
using Dedalus.Server.Store;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Server.Tests;

/// <summary>Crash safety, failure handling, clean-up and edge cases of the wire contract.</summary>
public sealed class RobustnessTests : ServerTestBase
{
    [Fact]
    public async Task Destroying_a_machine_closes_its_ready_sessions_and_revokes_their_certificates()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var (publicKey, keyPath) = await NewClientKeyAsync();
        var session = (await Api.OpenSessionAsync(machine.MachineId, publicKey)).Session();
        Assert.Equal(SshSessionStatuses.Ready, session.Status);
        await File.WriteAllTextAsync(keyPath + "-cert.pub", session.Connection!.UserCertificate + "\n");

        await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}");
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Destroyed);
        var after = (await Api.GetAsync($"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}")).Session();

        Assert.Equal(SshSessionStatuses.Closed, after.Status);
        Assert.Equal(ErrorCodes.MachineDestroyed, after.ErrorCode);
        Assert.Null(after.Connection);
        var krl = Work.Combine("krl");
        await File.WriteAllBytesAsync(krl, Server.Runtime.LastTrust!.RevokedKeys.ToArray());
        var check = await ProcessRunner.RunAsync("ssh-keygen", "-Q", "-f", krl, keyPath + "-cert.pub");
        Assert.Contains("REVOKED", check.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_transient_runtime_failure_is_retried_and_the_machine_still_runs()
    {
        var failures = 0;
        Server.Runtime.FailWhen = _ => Interlocked.Increment(ref failures) == 1;

        var created = await Api.CreateMachineAsync();
        await Server.SettleAsync();
        var machine = (await Api.GetAsync($"/v1/machines/{created.MachineId}")).Machine();

        Assert.True(Volatile.Read(ref failures) > 1, "the runtime was not called again after its failure");
        Assert.Equal(MachinePhases.Running, machine.Phase);
    }

    [Fact]
    public async Task Deleting_again_a_machine_whose_destruction_failed_tries_the_destruction_again()
    {
        var machine = await Api.CreateRunningMachineAsync();
        Server.Runtime.FailWhen = _ => true;
        await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}");
        var failed = await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Failed);
        Assert.Equal(DesiredStates.Destroyed, failed.DesiredState);
        Server.Runtime.FailWhen = null;

        var again = await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}");
        var destroyed = await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Destroyed);

        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal(MachinePhases.Destroyed, destroyed.Phase);
        Assert.Null(Server.Runtime.GetSpec(machine.MachineId));
    }

    [Fact]
    public async Task A_machine_left_short_of_its_desired_state_without_a_pending_pass_is_picked_up_by_the_next_sweep()
    {
        var store = Server.Service<IStore>();
        var record = StoredRecords.Machine(Api.OrgId, MachinePhases.Accepted, "created", DateTimeOffset.UtcNow);
        var node = Server.Service<Dedalus.Server.Cluster.LocalNode>().Id;
        Assert.NotNull(await store.InsertMachineAsync(record, _ => new MachinePlacement(node, 2200, 2299), MachineMapper.ToJson)); // stored, but nobody kicked it

        await Server.Service<Dedalus.Server.Reconciliation.MaintenanceService>().RunOnceAsync();
        var machine = await Api.WaitForPhaseAsync(record.Id, MachinePhases.Running);

        Assert.Equal(MachinePhases.Running, machine.Phase);
    }

    [Fact]
    public async Task A_session_delete_whose_caller_hangs_up_still_publishes_the_revocation()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var session = (await Api.OpenSessionAsync(machine.MachineId)).Session();
        var writesBefore = Server.Runtime.TrustWrites;
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hungUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Server.Runtime.BeforeTrustWrite = async ct =>
        {
            // A runtime that honours its token: a publish tied to the request dies with the request. It goes on once
            // the caller has hung up, and gives the server a moment to see the hang-up and cancel a request's token.
            entered.TrySetResult();
            await hungUp.Task.WaitAsync(RunningServer.Timeout, CancellationToken.None);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(2), ct);
            }
            catch (OperationCanceledException)
            {
            }

            ct.ThrowIfCancellationRequested();
        };

        using var hangUp = new CancellationTokenSource(RunningServer.Timeout);
        var delete = Api.Http.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}"), hangUp.Token);
        await entered.Task.WaitAsync(RunningServer.Timeout);
        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => delete);
        hungUp.SetResult();

        Assert.True(await Eventually.TrueAsync(() => Server.Runtime.TrustWrites > writesBefore), "the revocation of the closed session was never published");
        var stored = await Server.Service<IStore>().GetSessionAsync(session.SessionId);
        Assert.Equal(SshSessionStatuses.Closed, stored!.Status);
        Assert.Contains(stored.Serial, await Server.Service<IStore>().ListRevokedSerialsAsync(DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task A_machine_not_yet_destroyed_keeps_its_gateway_port_from_new_machines()
    {
        var store = Server.Service<IStore>();
        var doomed = await Api.CreateRunningMachineAsync();
        Server.Runtime.FailWhen = id => id == doomed.StoreId();
        await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{doomed.MachineId}");
        await Api.WaitForPhaseAsync(doomed.MachineId, MachinePhases.Failed); // asked to be destroyed, still there

        var next = await Api.CreateMachineAsync();

        var doomedPort = (await store.GetMachineAsync(doomed.StoreId()))!.GatewayPort;
        Assert.NotEqual(doomedPort, (await store.GetMachineAsync(next.StoreId()))!.GatewayPort);
    }

    [Fact]
    public async Task Patching_a_failed_machine_is_409_invalid_state_instead_of_a_202_that_never_converges()
    {
        Server.Runtime.FailWhen = _ => true;
        var machine = await Api.CreateMachineAsync();
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Failed);

        var patch = await Api.SendAsync(HttpMethod.Patch, $"/v1/machines/{machine.MachineId}", """{"vcpu":2}""");

        Assert.Equal(HttpStatusCode.Conflict, patch.Status);
        var error = patch.Error();
        Assert.Equal(ErrorCodes.InvalidState, error.ErrorCode);
        Assert.Equal("error", error.Details!["current_observed_state"]);
        Assert.Equal(1, (await Api.GetAsync($"/v1/machines/{machine.MachineId}")).Machine().Vcpu);
    }
}
