using System.Net;
using Dedalus.Contracts;
using Dedalus.Server.Sessions.Api;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;

namespace Dedalus.Server.Tests;

public sealed class SshSessionsTests : IAsyncLifetime
{
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

    private static string KeyBody(string publicKey) => $$"""{"public_key":"{{publicKey}}\n"}""";

    private async Task<(string PublicKey, string Path)> NewClientKeyAsync(string name = "id")
    {
        var path = _work.Combine(name);
        var result = await ProcessRunner.RunAsync("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path);
        Assert.True(result.ExitCode == 0, result.ToString());
        return ((await File.ReadAllTextAsync(path + ".pub")).Trim(), path);
    }

    [Fact]
    public async Task A_session_on_a_running_machine_is_ready_with_a_certificate_ssh_keygen_reads()
    {
        var machine = await _api.CreateRunningMachineAsync();
        var (publicKey, keyPath) = await NewClientKeyAsync();

        var response = await _api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", KeyBody(publicKey));

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
        var hostCaPub = (await File.ReadAllTextAsync(Path.Combine(_data.Path, "ca", "host_ca.pub"))).Trim();
        Assert.Equal(hostCaPub, connection.HostTrust.PublicKey);

        await File.WriteAllTextAsync(keyPath + "-cert.pub", connection.UserCertificate + "\n");
        var listing = await ProcessRunner.RunAsync("ssh-keygen", "-L", "-f", keyPath + "-cert.pub");
        Assert.True(listing.ExitCode == 0, listing.ToString());
        Assert.Contains("user certificate", listing.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"Key ID: \"{session.SessionId}\"", listing.StandardOutput, StringComparison.Ordinal);
        var principals = listing.StandardOutput[listing.StandardOutput.IndexOf("Principals:", StringComparison.Ordinal)..];
        Assert.Contains(machine.MachineId, principals.Split('\n')[1], StringComparison.Ordinal);
        Assert.Contains("permit-pty", listing.StandardOutput, StringComparison.Ordinal);
        var userCaFingerprint = await ProcessRunner.RunAsync("ssh-keygen", "-l", "-f", Path.Combine(_data.Path, "ca", "user_ca.pub"));
        Assert.Contains(userCaFingerprint.StandardOutput.Split(' ')[1], listing.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_session_gets_a_distinct_serial_and_session_id()
    {
        var machine = await _api.CreateRunningMachineAsync();
        var store = _server.Service<Dedalus.Server.Store.IStore>();
        var serials = new HashSet<ulong>();
        var ids = new HashSet<string>();
        for (var i = 0; i < 10; i++)
        {
            var session = (await _api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", KeyBody(TestKeys.Ed25519))).Session();
            ids.Add(session.SessionId);
            serials.Add((await store.GetSessionAsync(session.SessionId))!.Serial);
        }

        Assert.Equal(10, ids.Count);
        Assert.Equal(10, serials.Count);
    }

    [Fact]
    public async Task A_session_on_a_sleeping_machine_wakes_it_and_turns_ready_when_it_runs()
    {
        var machine = await _api.CreateRunningMachineAsync();
        await _api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null);
        await _api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Sleeping);
        var release = new TaskCompletionSource();
        _server.Runtime.BeforeStart = (_, ct) => release.Task.WaitAsync(ct);

        var created = (await _api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", KeyBody(TestKeys.Ed25519))).Session();

        Assert.Equal(SshSessionStatuses.WakeInProgress, created.Status);
        Assert.Equal(SshSessionMapper.WakeRetryAfterMs, created.RetryAfterMs);
        Assert.Null(created.Connection);
        var waking = (await _api.GetAsync($"/v1/machines/{machine.MachineId}")).Machine();
        Assert.Equal(DesiredStates.Running, waking.DesiredState);
        Assert.Equal(SshSessionStatuses.WakeInProgress, (await _api.GetAsync($"/v1/machines/{machine.MachineId}/ssh/{created.SessionId}")).Session().Status);

        release.SetResult();
        await _api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Running);
        var ready = (await _api.GetAsync($"/v1/machines/{machine.MachineId}/ssh/{created.SessionId}")).Session();

        Assert.Equal(SshSessionStatuses.Ready, ready.Status);
        Assert.NotNull(ready.Connection!.UserCertificate);
        Assert.NotNull(ready.ReadyAt);
        Assert.Null(ready.RetryAfterMs);
    }

    [Fact]
    public async Task Deleting_a_session_closes_it_and_puts_its_serial_in_the_revocation_list()
    {
        var machine = await _api.CreateRunningMachineAsync();
        var (publicKey, keyPath) = await NewClientKeyAsync();
        var (otherKey, otherPath) = await NewClientKeyAsync("other");
        var session = (await _api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", KeyBody(publicKey))).Session();
        var kept = (await _api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", KeyBody(otherKey))).Session();
        await File.WriteAllTextAsync(keyPath + "-cert.pub", session.Connection!.UserCertificate + "\n");
        await File.WriteAllTextAsync(otherPath + "-cert.pub", kept.Connection!.UserCertificate + "\n");
        var writesBefore = _server.Runtime.TrustWrites;

        var response = await _api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var closed = response.Session();
        Assert.Equal(SshSessionStatuses.Closed, closed.Status);
        Assert.Null(closed.Connection);
        Assert.Equal(SshSessionStatuses.Closed, (await _api.GetAsync($"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}")).Session().Status);
        Assert.True(_server.Runtime.TrustWrites > writesBefore);

        var krl = _work.Combine("krl");
        await File.WriteAllBytesAsync(krl, _server.Runtime.LastTrust!.RevokedKeys.ToArray());
        var revoked = await ProcessRunner.RunAsync("ssh-keygen", "-Q", "-f", krl, keyPath + "-cert.pub");
        var notRevoked = await ProcessRunner.RunAsync("ssh-keygen", "-Q", "-f", krl, otherPath + "-cert.pub");
        Assert.Contains("REVOKED", revoked.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("REVOKED", notRevoked.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("ok", notRevoked.StandardOutput, StringComparison.Ordinal);
        var onDisk = await ProcessRunner.RunAsync("ssh-keygen", "-Q", "-f", Path.Combine(_data.Path, "ssh", "revoked_keys"), keyPath + "-cert.pub");
        Assert.Contains("REVOKED", onDisk.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(
            (await File.ReadAllTextAsync(Path.Combine(_data.Path, "ca", "user_ca.pub"))).Trim(),
            Assert.Single(_server.Runtime.LastTrust.UserCaPublicKeys));

        var again = await _api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}");
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
        var machine = await _api.CreateRunningMachineAsync();

        var response = await _api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", $$"""{"public_key":"{{key}}"}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        var error = response.Error();
        Assert.Equal(ErrorCodes.InvalidRequest, error.ErrorCode);
        Assert.StartsWith(field, error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Length > field.Length + 5, error.Message);
        Assert.Empty((await _api.GetAsync($"/v1/machines/{machine.MachineId}/ssh")).SessionList().Items);
    }

    [Fact]
    public async Task A_session_body_with_an_unknown_field_is_400_naming_it()
    {
        var machine = await _api.CreateRunningMachineAsync();

        var response = await _api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", $$"""{"public_key":"{{TestKeys.Ed25519}}","wake_if_needed":true}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("wake_if_needed", response.Error().Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_session_on_an_unknown_machine_is_404_and_an_unknown_session_is_404()
    {
        var machine = await _api.CreateRunningMachineAsync();

        var noMachine = await _api.PostAsync($"/v1/machines/dm-{Guid.NewGuid()}/ssh", KeyBody(TestKeys.Ed25519));
        var noSession = await _api.GetAsync($"/v1/machines/{machine.MachineId}/ssh/ss-0123");

        Assert.Equal(HttpStatusCode.NotFound, noMachine.Status);
        Assert.Equal(ErrorCodes.NotFound, noMachine.Error().ErrorCode);
        Assert.Equal(HttpStatusCode.NotFound, noSession.Status);
        Assert.Equal(ErrorCodes.NotFound, noSession.Error().ErrorCode);
    }

    [Fact]
    public async Task A_session_on_a_failed_machine_is_failed_with_an_error_code_and_message()
    {
        _server.Runtime.FailWhen = _ => true;
        var machine = await _api.CreateMachineAsync();
        await _api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Failed);

        var session = (await _api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", KeyBody(TestKeys.Ed25519))).Session();

        Assert.Equal(SshSessionStatuses.Failed, session.Status);
        Assert.Equal(ErrorCodes.MachineFailed, session.ErrorCode);
        Assert.Contains("simulated runtime failure", session.ErrorMessage, StringComparison.Ordinal);
        Assert.Null(session.Connection);
    }

    [Fact]
    public async Task A_waiting_session_fails_when_the_wake_fails()
    {
        var machine = await _api.CreateRunningMachineAsync();
        await _api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null);
        await _api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Sleeping);
        _server.Runtime.BeforeStart = (_, _) => throw new Dedalus.Machines.Runtime.MachineRuntimeException("start failed");

        var session = (await _api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", KeyBody(TestKeys.Ed25519))).Session();
        await _api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Failed);
        var failed = (await _api.GetAsync($"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}")).Session();

        Assert.Equal(SshSessionStatuses.Failed, failed.Status);
        Assert.Equal(ErrorCodes.MachineFailed, failed.ErrorCode);
    }

    [Fact]
    public async Task Sessions_are_listed_across_pages_in_creation_order()
    {
        var machine = await _api.CreateRunningMachineAsync();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await _api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", KeyBody(TestKeys.Ed25519))).Session().SessionId);
        }

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = (await _api.GetAsync($"/v1/machines/{machine.MachineId}/ssh?limit=2" + (cursor is null ? string.Empty : "&cursor=" + cursor))).SessionList();
            seen.AddRange(page.Items.Select(s => s.SessionId));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.Equal(ids, seen);
    }

    [Fact]
    public async Task A_session_on_a_destroyed_machine_is_failed_and_destroying_a_machine_ends_its_waiting_sessions()
    {
        var machine = await _api.CreateRunningMachineAsync();
        await _api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}");
        await _api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Destroyed);

        var session = (await _api.PostAsync($"/v1/machines/{machine.MachineId}/ssh", KeyBody(TestKeys.Ed25519))).Session();

        Assert.Equal(SshSessionStatuses.Failed, session.Status);
        Assert.Equal(ErrorCodes.MachineDestroyed, session.ErrorCode);
    }
}
