using System.Net;
using Dedalus.Contracts;
using Dedalus.Server.Sessions.Api;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Server.Tests;

public class SshSessionsTests : ServerTestBase
{
    /// <summary>Asks for a session with the key line as a .pub file holds it, newline included.</summary>
    private Task<Response> OpenSessionAsync(string machineId, string publicKey = TestKeys.Ed25519) => Api.OpenSessionAsync(machineId, publicKey + "\n");

    [Fact]
    public async Task A_session_on_a_running_machine_is_ready_with_a_certificate_ssh_keygen_reads()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var (publicKey, keyPath) = await NewClientKeyAsync();

        var response = await OpenSessionAsync(machine.MachineId, publicKey);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var session = response.Session();
        Assert.Equal(SshSessionStatuses.Ready, session.Status);
        Assert.Equal(machine.MachineId, session.MachineId);
        Assert.NotNull(session.ReadyAt);
        Assert.InRange(session.ExpiresAt!.Value - session.CreatedAt, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61));
        var connection = session.Connection!;
        Assert.Equal("gw.test", connection.Endpoint);
        Assert.InRange(connection.Port, 2200, 2299);
        Assert.Equal("machine", connection.SshUsername);
        Assert.Equal("cert_authority", connection.HostTrust!.Kind);
        Assert.Equal("gw.test,[gw.test]:*,localhost,[localhost]:*", connection.HostTrust.HostPattern);
        Assert.Equal(Server.Service<Dedalus.Server.Ssh.SshAuthority>().MachineHostCaPublicKey(machine.StoreId()), connection.HostTrust.PublicKey);
        var masterHostCa = (await File.ReadAllTextAsync(Path.Combine(Data.Path, "ca", "host_ca.pub"))).Trim();
        Assert.NotEqual(masterHostCa.Split(' ')[1], connection.HostTrust.PublicKey.Split(' ')[1]);

        await File.WriteAllTextAsync(keyPath + "-cert.pub", connection.UserCertificate + "\n");
        var listing = await ProcessRunner.RunAsync("ssh-keygen", "-L", "-f", keyPath + "-cert.pub");
        Assert.True(listing.ExitCode == 0, listing.ToString());
        Assert.Contains("user certificate", listing.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"Key ID: \"{session.SessionId}\"", listing.StandardOutput, StringComparison.Ordinal);
        var principals = listing.StandardOutput[listing.StandardOutput.IndexOf("Principals:", StringComparison.Ordinal)..];
        Assert.Contains(machine.MachineId, principals.Split('\n')[1], StringComparison.Ordinal);
        Assert.Contains("permit-pty", listing.StandardOutput, StringComparison.Ordinal);
        var userCaFingerprint = await ProcessRunner.RunAsync("ssh-keygen", "-l", "-f", Path.Combine(Data.Path, "ca", "user_ca.pub"));
        Assert.Contains(userCaFingerprint.StandardOutput.Split(' ')[1], listing.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_session_gets_a_distinct_serial_and_session_id()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var store = Server.Service<Dedalus.Server.Store.IStore>();
        var serials = new HashSet<ulong>();
        var ids = new HashSet<string>();
        for (var i = 0; i < 10; i++)
        {
            var session = (await OpenSessionAsync(machine.MachineId)).Session();
            ids.Add(session.SessionId);
            serials.Add((await store.GetSessionAsync(session.SessionId))!.Serial);
        }

        Assert.Equal(10, ids.Count);
        Assert.Equal(10, serials.Count);
    }

    [Fact]
    public async Task A_session_on_a_sleeping_machine_wakes_it_and_turns_ready_when_it_runs()
    {
        var machine = await Api.CreateRunningMachineAsync();
        await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Sleeping);
        var release = new TaskCompletionSource();
        Server.Runtime.BeforeStart = (_, ct) => release.Task.WaitAsync(ct);

        var created = (await OpenSessionAsync(machine.MachineId)).Session();

        Assert.Equal(SshSessionStatuses.WakeInProgress, created.Status);
        Assert.Equal(SshSessionMapper.WakeRetryAfterMs, created.RetryAfterMs);
        Assert.Null(created.Connection);
        var waking = (await Api.GetAsync($"/v1/machines/{machine.MachineId}")).Machine();
        Assert.Equal(DesiredStates.Running, waking.DesiredState);
        Assert.Equal(SshSessionStatuses.WakeInProgress, (await Api.GetAsync($"/v1/machines/{machine.MachineId}/ssh/{created.SessionId}")).Session().Status);

        release.SetResult();
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Running);
        var ready = (await Api.GetAsync($"/v1/machines/{machine.MachineId}/ssh/{created.SessionId}")).Session();

        Assert.Equal(SshSessionStatuses.Ready, ready.Status);
        Assert.NotNull(ready.Connection!.UserCertificate);
        Assert.NotNull(ready.ReadyAt);
        Assert.Null(ready.RetryAfterMs);
    }

    [Fact]
    public async Task Deleting_a_session_closes_it_and_puts_its_serial_in_the_revocation_list()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var (publicKey, keyPath) = await NewClientKeyAsync();
        var (otherKey, otherPath) = await NewClientKeyAsync("other");
        var session = (await OpenSessionAsync(machine.MachineId, publicKey)).Session();
        var kept = (await OpenSessionAsync(machine.MachineId, otherKey)).Session();
        await File.WriteAllTextAsync(keyPath + "-cert.pub", session.Connection!.UserCertificate + "\n");
        await File.WriteAllTextAsync(otherPath + "-cert.pub", kept.Connection!.UserCertificate + "\n");
        var writesBefore = Server.Runtime.TrustWrites;

        var response = await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var closed = response.Session();
        Assert.Equal(SshSessionStatuses.Closed, closed.Status);
        Assert.Null(closed.Connection);
        Assert.Equal(SshSessionStatuses.Closed, (await Api.GetAsync($"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}")).Session().Status);
        Assert.True(Server.Runtime.TrustWrites > writesBefore);

        var krl = Work.Combine("krl");
        await File.WriteAllBytesAsync(krl, Server.Runtime.LastTrust!.RevokedKeys.ToArray());
        var revoked = await ProcessRunner.RunAsync("ssh-keygen", "-Q", "-f", krl, keyPath + "-cert.pub");
        var notRevoked = await ProcessRunner.RunAsync("ssh-keygen", "-Q", "-f", krl, otherPath + "-cert.pub");
        Assert.Contains("REVOKED", revoked.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("REVOKED", notRevoked.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("ok", notRevoked.StandardOutput, StringComparison.Ordinal);
        var onDisk = await ProcessRunner.RunAsync("ssh-keygen", "-Q", "-f", Path.Combine(Data.Path, "ssh", "revoked_keys"), keyPath + "-cert.pub");
        Assert.Contains("REVOKED", onDisk.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(
            (await File.ReadAllTextAsync(Path.Combine(Data.Path, "ca", "user_ca.pub"))).Trim(),
            Assert.Single(Server.Runtime.LastTrust.UserCaPublicKeys));

        var again = await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}");
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal(SshSessionStatuses.Closed, again.Session().Status);
    }

    [Theory]
    [InlineData("ssh-ed25519", "public_key")]
    [InlineData("not a key at all", "public_key")]
    [InlineData("ssh-ed25519 AAAA%%%%", "public_key")]
    [InlineData("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "public_key")]
    [InlineData("", "public_key")]
    public async Task An_invalid_public_key_is_400_naming_the_problem_and_creates_no_session(string key, string field)
    {
        var machine = await Api.CreateRunningMachineAsync();

        var response = await Api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", $$"""{"public_key":"{{key}}"}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        var error = response.Error();
        Assert.Equal(ErrorCodes.InvalidRequest, error.ErrorCode);
        Assert.StartsWith(field, error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Length > field.Length + 5, error.Message);
        Assert.Empty((await Api.GetAsync($"/v1/machines/{machine.MachineId}/ssh")).SessionList().Items);
    }

    [Fact]
    public async Task A_session_body_with_an_unknown_field_is_400_naming_it()
    {
        var machine = await Api.CreateRunningMachineAsync();

        var response = await Api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", $$"""{"public_key":"{{TestKeys.Ed25519}}","wake_if_needed":true}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("wake_if_needed", response.Error().Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_session_on_an_unknown_machine_is_404_and_an_unknown_session_is_404()
    {
        var machine = await Api.CreateRunningMachineAsync();

        var noMachine = await OpenSessionAsync($"dm-{Guid.NewGuid()}");
        var noSession = await Api.GetAsync($"/v1/machines/{machine.MachineId}/ssh/ss-0123");

        Assert.Equal(HttpStatusCode.NotFound, noMachine.Status);
        Assert.Equal(ErrorCodes.NotFound, noMachine.Error().ErrorCode);
        Assert.Equal(HttpStatusCode.NotFound, noSession.Status);
        Assert.Equal(ErrorCodes.NotFound, noSession.Error().ErrorCode);
    }

    [Fact]
    public async Task A_session_on_a_failed_machine_is_failed_with_an_error_code_and_message()
    {
        Server.Runtime.FailWhen = _ => true;
        var machine = await Api.CreateMachineAsync();
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Failed);

        var session = (await OpenSessionAsync(machine.MachineId)).Session();

        Assert.Equal(SshSessionStatuses.Failed, session.Status);
        Assert.Equal(ErrorCodes.MachineFailed, session.ErrorCode);
        Assert.Contains("simulated runtime failure", session.ErrorMessage, StringComparison.Ordinal);
        Assert.Null(session.Connection);
    }

    [Fact]
    public async Task A_waiting_session_fails_when_the_wake_fails()
    {
        var machine = await Api.CreateRunningMachineAsync();
        await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Sleeping);
        Server.Runtime.BeforeStart = (_, _) => throw new Dedalus.Machines.Runtime.MachineRuntimeException("start failed");

        var session = (await OpenSessionAsync(machine.MachineId)).Session();
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Failed);
        var failed = (await Api.GetAsync($"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}")).Session();

        Assert.Equal(SshSessionStatuses.Failed, failed.Status);
        Assert.Equal(ErrorCodes.MachineFailed, failed.ErrorCode);
    }

    [Fact]
    public async Task Sessions_are_listed_across_pages_in_creation_order()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await OpenSessionAsync(machine.MachineId)).Session().SessionId);
        }

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = (await Api.GetAsync($"/v1/machines/{machine.MachineId}/ssh?limit=2" + (cursor is null ? string.Empty : "&cursor=" + cursor))).SessionList();
            seen.AddRange(page.Items.Select(s => s.SessionId));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.Equal(ids, seen);
    }

    [Fact]
    public async Task A_session_on_a_destroyed_machine_is_failed_and_destroying_a_machine_ends_its_waiting_sessions()
    {
        var machine = await Api.CreateRunningMachineAsync();
        await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}");
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Destroyed);

        var session = (await OpenSessionAsync(machine.MachineId)).Session();

        Assert.Equal(SshSessionStatuses.Failed, session.Status);
        Assert.Equal(ErrorCodes.MachineDestroyed, session.ErrorCode);
    }
}
