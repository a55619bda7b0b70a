using System.Net;
using System.Text;
using Dedalus.Contracts;
using Dedalus.Server.Http;
using Dedalus.Server.Machines.Api;
using Dedalus.Server.Store;
using Dedalus.Server.Store.Sqlite;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Server.Tests;

/// <summary>Crash safety, failure handling, clean-up and edge cases of the wire contract.</summary>
public sealed class RobustnessTests : IAsyncLifetime
{
    private const string MachineBody = """{"vcpu":1,"memory_mib":1024,"storage_gib":10}""";
    private readonly TempDirectory _data = new();
    private readonly TempDirectory _work = new();
    private RunningServer _server = null!;
    private ApiClient _api = null!;

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartAsync(_data.Path);
        _api = await _server.NewClientAsync();
    }

    public async Task DisposeAsync()
    {
        _api.Dispose();
        await _server.DisposeAsync();
        _data.Dispose();
        _work.Dispose();
    }

    private static Dictionary<string, string> Key(string key) => new() { ["Idempotency-Key"] = key };

    private static string KeyBody(string publicKey) => $$"""{"public_key":"{{publicKey}}"}""";

    [Fact]
    public async Task A_v1_path_in_another_case_is_authenticated_like_any_other_401_without_a_key_and_200_with_one()
    {
        using var anonymous = _server.Client(null);

        var withoutKey = await anonymous.GetAsync("/V1/machines");
        var withKey = await _api.GetAsync("/V1/Machines");

        Assert.Equal(HttpStatusCode.Unauthorized, withoutKey.Status);
        Assert.Equal(ErrorCodes.AuthRequired, withoutKey.Error().ErrorCode);
        Assert.Equal(HttpStatusCode.OK, withKey.Status);
    }

    [Fact]
    public async Task An_idempotency_key_left_in_flight_by_a_request_that_never_finished_is_taken_over_after_its_lease()
    {
        var store = _server.Service<IStore>();
        var hash = IdempotencyMiddleware.RequestHash("POST", "/v1/machines", Encoding.UTF8.GetBytes(MachineBody));
        var crashedAt = DateTimeOffset.UtcNow - SqliteStore.InFlightLease - TimeSpan.FromSeconds(1);
        Assert.Null(await store.TryBeginIdempotentAsync(_api.OrgId, "crashed-1", hash, crashedAt));

        var retry = await _api.PostAsync("/v1/machines", MachineBody, Key("crashed-1"));
        var replay = await _api.PostAsync("/v1/machines", MachineBody, Key("crashed-1"));

        Assert.Equal(HttpStatusCode.Accepted, retry.Status);
        Assert.Equal(retry.Body, replay.Body);
        Assert.Equal("true", replay.Headers.GetValues(IdempotencyMiddleware.ReplayedHeader).Single());
        Assert.Single((await _api.GetAsync("/v1/machines")).MachineList().Items);
    }

    [Fact]
    public async Task Destroying_a_machine_closes_its_ready_sessions_and_revokes_their_certificates()
    {
        var machine = await _api.CreateRunningMachineAsync();
        var keyPath = _work.Combine("id");
        var keygen = await ProcessRunner.RunAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", keyPath);
        Assert.True(keygen.ExitCode == 0, keygen.ToString());
        var publicKey = (await File.ReadAllTextAsync(keyPath + ".pub")).Trim();
        var session = (await _api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", KeyBody(publicKey))).Session();
        Assert.Equal(SshSessionStatuses.Ready, session.Status);
        await File.WriteAllTextAsync(keyPath + "-cert.pub", session.Connection!.UserCertificate + "\n");

        await _api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}");
        await _api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Destroyed);
        var after = (await _api.GetAsync($"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}")).Session();

        Assert.Equal(SshSessionStatuses.Closed, after.Status);
        Assert.Equal(ErrorCodes.MachineDestroyed, after.ErrorCode);
        Assert.Null(after.Connection);
        var krl = _work.Combine("krl");
        await File.WriteAllBytesAsync(krl, _server.Runtime.LastTrust!.RevokedKeys.ToArray());
        var check = await ProcessRunner.RunAsync("ssh-keygen", "-Q", "-f", krl, keyPath + "-cert.pub");
        Assert.Contains("REVOKED", check.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_transient_runtime_failure_is_retried_and_the_machine_still_runs()
    {
        var failures = 0;
        _server.Runtime.FailWhen = _ => Interlocked.Increment(ref failures) == 1;

        var created = await _api.CreateMachineAsync();
        await _server.SettleAsync();
        var machine = (await _api.GetAsync($"/v1/machines/{created.MachineId}")).Machine();

        Assert.True(Volatile.Read(ref failures) > 1, "the runtime was not called again after its failure");
        Assert.Equal(MachinePhases.Running, machine.Phase);
    }

    [Fact]
    public async Task Deleting_again_a_machine_whose_destruction_failed_tries_the_destruction_again()
    {
        var machine = await _api.CreateRunningMachineAsync();
        _server.Runtime.FailWhen = _ => true;
        await _api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}");
        var failed = await _api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Failed);
        Assert.Equal(DesiredStates.Destroyed, failed.DesiredState);
        _server.Runtime.FailWhen = null;

        var again = await _api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}");
        var destroyed = await _api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Destroyed);

        Assert.Equal(HttpStatusCode.Accepted, again.Status);
        Assert.Equal(MachinePhases.Destroyed, destroyed.Phase);
        Assert.Null(_server.Runtime.GetSpec(machine.MachineId));
    }

    [Fact]
    public async Task A_machine_left_short_of_its_desired_state_without_a_pending_pass_is_picked_up_by_the_next_sweep()
    {
        var store = _server.Service<IStore>();
        var now = DateTimeOffset.UtcNow;
        var record = new MachineRecord
        {
            Id = MachineIds.Format(Guid.CreateVersion7(now)),
            OrgId = _api.OrgId,
            Vcpu = 1,
            MemoryMib = 1024,
            StorageGib = 10,
            AutosleepSeconds = 300,
            DesiredState = DesiredStates.Running,
            Phase = MachinePhases.Accepted,
            Reason = "created",
            Revision = 1,
            CreatedAt = now,
            LastTransitionAt = now,
            LastProgressAt = now,
            LastActivityAt = now,
        };
        Assert.NotNull(await store.InsertMachineAsync(record, 2200, 2299, MachineMapper.ToJson)); // stored, but nobody kicked it

        await _server.Service<Dedalus.Server.Reconciliation.MaintenanceService>().RunOnceAsync();
        var machine = await _api.WaitForPhaseAsync(record.Id, MachinePhases.Running);

        Assert.Equal(MachinePhases.Running, machine.Phase);
    }

    [Fact]
    public async Task A_session_delete_whose_caller_hangs_up_still_publishes_the_revocation()
    {
        var machine = await _api.CreateRunningMachineAsync();
        var session = (await _api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", KeyBody(TestKeys.Ed25519))).Session();
        var writesBefore = _server.Runtime.TrustWrites;
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.Runtime.BeforeTrustWrite = async ct =>
        {
            // A runtime that honours its token: a publish tied to the request dies with the request.
            entered.TrySetResult();
            await Task.Delay(TimeSpan.FromMilliseconds(500), CancellationToken.None);
            ct.ThrowIfCancellationRequested();
        };

        using var hangUp = new CancellationTokenSource(RunningServer.Timeout);
        var delete = _api.Http.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}"), hangUp.Token);
        await entered.Task.WaitAsync(RunningServer.Timeout);
        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => delete);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (_server.Runtime.TrustWrites == writesBefore && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.True(_server.Runtime.TrustWrites > writesBefore, "the revocation of the closed session was never published");
        var stored = await _server.Service<IStore>().GetSessionAsync(session.SessionId);
        Assert.Equal(SshSessionStatuses.Closed, stored!.Status);
        Assert.Contains(stored.Serial, await _server.Service<IStore>().ListRevokedSerialsAsync(DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task A_machine_not_yet_destroyed_keeps_its_gateway_port_from_new_machines()
    {
        var store = _server.Service<IStore>();
        var doomed = await _api.CreateRunningMachineAsync();
        _server.Runtime.FailWhen = id => id == doomed.MachineId;
        await _api.SendAsync(HttpMethod.Delete, $"/v1/machines/{doomed.MachineId}");
        await _api.WaitForPhaseAsync(doomed.MachineId, MachinePhases.Failed); // asked to be destroyed, still there

        var next = await _api.CreateMachineAsync();

        var doomedPort = (await store.GetMachineAsync(doomed.MachineId))!.GatewayPort;
        Assert.NotEqual(doomedPort, (await store.GetMachineAsync(next.MachineId))!.GatewayPort);
    }

    [Fact]
    public async Task Patching_a_failed_machine_is_409_invalid_state_instead_of_a_202_that_never_converges()
    {
        _server.Runtime.FailWhen = _ => true;
        var machine = await _api.CreateMachineAsync();
        await _api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Failed);

        var patch = await _api.SendAsync(HttpMethod.Patch, $"/v1/machines/{machine.MachineId}", """{"vcpu":2}""");

        Assert.Equal(HttpStatusCode.Conflict, patch.Status);
        var error = patch.Error();
        Assert.Equal(ErrorCodes.InvalidState, error.ErrorCode);
        Assert.Equal("error", error.Details!["current_observed_state"]);
        Assert.Equal(1, (await _api.GetAsync($"/v1/machines/{machine.MachineId}")).Machine().Vcpu);
    }
}
