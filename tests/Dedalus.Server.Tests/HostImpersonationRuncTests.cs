using System.Diagnostics;
using System.Globalization;
using Dedalus.Contracts;
using Dedalus.Machines.Runc;
using Dedalus.Machines.Ssh;
using Dedalus.OpenSsh;
using Dedalus.Server.Hosting;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Dedalus.Testing.Sshd;
using Microsoft.AspNetCore.Builder;

namespace Dedalus.Server.Tests;

/// <summary>
/// The impersonation of issue 11, with real parts: the server with the runc runtime and its gateway, machines, and an
/// sshd the test runs on loopback with a machine's host key and certificate, read from the machine's SSH directory as
/// root inside that machine could read them. The real <c>ssh</c> client, with a session's files (the
/// <c>@cert-authority</c> line of its <c>host_trust</c>, <c>StrictHostKeyChecking=yes</c>), must refuse that sshd unless
/// the session is of the machine whose key it serves.
/// </summary>
public sealed class HostImpersonationRuncTests : IAsyncLifetime
{
    private const string HostKeyVerificationFailed = "Host key verification failed";
    private static readonly TimeSpan MachineTimeout = TimeSpan.FromMinutes(15);
    private readonly TempDirectory _data = new("dedalus-impersonation-");
    private readonly TempDirectory _client = new("dedalus-impersonation-client-");
    private readonly int _low = FreePort.Range(3);
    private readonly List<HostSshd> _impostors = [];
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        (_app, _http, _) = await RuncServer.StartAsync(_data.Path, _low, _low + 2, ["--quota-machines", "unlimited"], "impersonation");
    }

    public async Task DisposeAsync()
    {
        foreach (var impostor in _impostors)
        {
            await impostor.DisposeAsync();
        }

        _http.Dispose();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
        var runtime = new RuncMachineRuntime(new RuncRuntimeOptions { DataDirectory = ServerConfiguration.RuntimeDirectory(new ServerOptions { DataDirectory = _data.Path }) });
        foreach (var machineId in await runtime.ListAsync(cts.Token))
        {
            await runtime.DeleteAsync(machineId, cts.Token);
        }

        _data.Dispose();
        _client.Dispose();
    }

    [Fact]
    public async Task A_machines_host_key_and_certificate_served_by_another_sshd_are_refused_with_another_machines_session()
    {
        var a = await CreateRunningMachineAsync();
        var b = await CreateRunningMachineAsync();
        var sessionA = await OpenSessionAsync(a, "a");
        var sessionB = await OpenSessionAsync(b, "b");
        Assert.NotEqual(sessionA.HostCaLine, sessionB.HostCaLine);

        // Both sessions work through the gateway: the certificates each machine serves verify with its own session.
        Assert.Equal("a-ok\n", (await SshOkAsync(sessionA, sessionA.Port, "echo", "a-ok")).StandardOutput);
        Assert.Equal("b-ok\n", (await SshOkAsync(sessionB, sessionB.Port, "echo", "b-ok")).StandardOutput);

        var impostor = await ServeAsync(ReadHostIdentity(a));

        await AssertRefusedAsync(sessionB, impostor);
        await AssertPastHostVerificationAsync(sessionA, impostor);
    }

    [Fact]
    public async Task A_destroyed_machines_host_key_is_refused_with_the_session_of_a_machine_made_after_it()
    {
        var a = await CreateRunningMachineAsync();
        var sessionA = await OpenSessionAsync(a, "a");
        var identityA = ReadHostIdentity(a);
        await _http.SendJsonAsync(HttpMethod.Delete, $"/v1/machines/{a}", null, DedalusJsonContext.Default.Machine);
        await WaitForPhaseAsync(a, MachinePhases.Destroyed);
        var c = await CreateRunningMachineAsync();
        var sessionC = await OpenSessionAsync(c, "c");

        var impostor = await ServeAsync(identityA);

        await AssertRefusedAsync(sessionC, impostor);

        // Only a session of the destroyed machine, made before it was destroyed, still trusts its CA; no new one can be
        // made, and its last certificate expires within the lifetime.
        await AssertPastHostVerificationAsync(sessionA, impostor);
        Assert.True(identityA.Certificate.ValidBefore <= DateTimeOffset.UtcNow + new ServerOptions { DataDirectory = "/" }.HostCertificateLifetime);
    }

    [Fact]
    public async Task A_wake_replaces_the_host_key_and_the_key_from_before_it_is_refused_with_another_machines_session()
    {
        var a = await CreateRunningMachineAsync();
        var b = await CreateRunningMachineAsync();
        var sessionB = await OpenSessionAsync(b, "b");
        var before = ReadHostIdentity(a);

        await _http.SendJsonAsync(HttpMethod.Post, $"/v1/machines/{a}/sleep", null, DedalusJsonContext.Default.Machine);
        await WaitForPhaseAsync(a, MachinePhases.Sleeping);
        await _http.SendJsonAsync(HttpMethod.Post, $"/v1/machines/{a}/wake", null, DedalusJsonContext.Default.Machine);
        await WaitForPhaseAsync(a, MachinePhases.Running);
        var after = ReadHostIdentity(a);
        var sessionA = await OpenSessionAsync(a, "a-after-wake");

        Assert.NotEqual(before.Certificate.Key, after.Certificate.Key);
        Assert.NotEqual(before.Certificate.Serial, after.Certificate.Serial);
        Assert.Equal(before.Certificate.SignatureKey, after.Certificate.SignatureKey);
        // Validity is in whole seconds: a sleep and wake within the same second give the same start.
        Assert.True(after.Certificate.ValidAfter >= before.Certificate.ValidAfter);
        Assert.Equal("awake\n", (await SshOkAsync(sessionA, sessionA.Port, "echo", "awake")).StandardOutput);

        var impostor = await ServeAsync(before);

        await AssertRefusedAsync(sessionB, impostor);

        // The machine's own sessions trust its CA for its whole life: the key from before the wake still verifies for
        // them until its certificate expires (it is inside its validity now). The lifetime bounds that window.
        Assert.True(before.Certificate.IsValidAt(DateTimeOffset.UtcNow));
        await AssertPastHostVerificationAsync(sessionA, impostor);
    }

    private sealed record Session(string MachineId, string KeyPath, string KnownHostsPath, string HostCaLine, int Port);

    private sealed record HostIdentity(string PrivateKey, string CertificateLine, SshCertificate Certificate);

    private async Task<string> CreateRunningMachineAsync()
    {
        var created = await _http.SendJsonAsync(HttpMethod.Post, "/v1/machines", """{"vcpu":0.5,"memory_mib":256,"storage_gib":1}""", DedalusJsonContext.Default.Machine);
        await WaitForPhaseAsync(created.MachineId, MachinePhases.Running);
        return StoreIds.StoreId(created.MachineId);
    }

    private async Task WaitForPhaseAsync(string machineId, string phase)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var machine = await _http.SendJsonAsync(HttpMethod.Get, $"/v1/machines/{machineId}", null, DedalusJsonContext.Default.Machine);
            if (machine.Phase == phase)
            {
                return;
            }

            Assert.True(deadline.Elapsed < MachineTimeout, $"machine is {machine.Phase}: {machine.Status.LastError}");
            Assert.NotEqual(MachinePhases.Failed, machine.Phase);
            await Task.Delay(100);
        }
    }

    /// <summary>A ready session for a new key, and its files as every official client writes them.</summary>
    private async Task<Session> OpenSessionAsync(string machineId, string name)
    {
        var (publicKey, keyPath) = await ClientKeys.GenerateAsync(_client, name);
        var session = await _http.SendJsonAsync(
            HttpMethod.Post, $"/v1/machines/{machineId}/ssh", $$"""{"public_key":"{{publicKey}}"}""", DedalusJsonContext.Default.SshSession);
        Assert.Equal(SshSessionStatuses.Ready, session.Status);
        var connection = session.Connection!;
        await File.WriteAllTextAsync(keyPath + "-cert.pub", connection.UserCertificate + "\n");
        var line = $"@cert-authority {connection.HostTrust!.HostPattern} {connection.HostTrust.PublicKey}\n";
        var knownHosts = _client.WriteFile(name + "-known_hosts", line);
        return new Session(machineId, keyPath, knownHosts, line, (int)connection.Port);
    }

    /// <summary>The machine's host key and certificate from its SSH directory (root inside the machine can read both).</summary>
    private HostIdentity ReadHostIdentity(string machineId)
    {
        var directory = Path.Combine(ServerConfiguration.RuntimeDirectory(new ServerOptions { DataDirectory = _data.Path }), "machines", machineId, "ssh");
        var key = File.ReadAllText(Path.Combine(directory, MachineSshd.HostKeyFileName));
        var certificate = File.ReadAllText(Path.Combine(directory, MachineSshd.HostCertificateFileName)).Trim();
        return new HostIdentity(key, certificate, SshCertificate.Parse(certificate));
    }

    /// <summary>An sshd on a free loopback port presenting <paramref name="identity"/> (it lets nobody in: host verification is what is tested).</summary>
    private async Task<int> ServeAsync(HostIdentity identity)
    {
        var name = "impostor-" + Guid.NewGuid().ToString("N")[..8];
        var keyPath = _client.Combine(name + "_host_key");
        await File.WriteAllTextAsync(keyPath, identity.PrivateKey);
        File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await File.WriteAllTextAsync(keyPath + "-cert.pub", identity.CertificateLine + "\n");
        var port = FreePort.Next();
        var config = _client.WriteFile(name + "_sshd_config", $"""
            Port {port}
            ListenAddress 127.0.0.1
            HostKey {keyPath}
            HostCertificate {keyPath}-cert.pub
            AuthorizedKeysFile none
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            PidFile none
            LogLevel ERROR

            """);
        var sshd = await HostSshd.StartAsync(config, port);
        _impostors.Add(sshd);
        return port;
    }

    private static string[] SshArguments(Session session, int port, params string[] command) =>
    [
        "-i", session.KeyPath,
        "-o", $"CertificateFile={session.KeyPath}-cert.pub",
        "-o", $"UserKnownHostsFile={session.KnownHostsPath}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=20",
        "-p", port.ToString(CultureInfo.InvariantCulture),
        "machine@localhost",
        "--",
        .. command,
    ];

    private static async Task<ProcessResult> SshOkAsync(Session session, int port, params string[] command)
    {
        var result = await ProcessRunner.RunAsync("ssh", SshArguments(session, port, command), timeout: TimeSpan.FromSeconds(90));
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    private static async Task AssertRefusedAsync(Session session, int port)
    {
        var result = await ProcessRunner.RunAsync("ssh", SshArguments(session, port, "true"), timeout: TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 255, result.ToString());
        Assert.Contains(HostKeyVerificationFailed, result.StandardError, StringComparison.Ordinal);
    }

    /// <summary>The positive control: the client accepts the host and goes on to authenticate (which this sshd refuses).</summary>
    private static async Task AssertPastHostVerificationAsync(Session session, int port)
    {
        var result = await ProcessRunner.RunAsync("ssh", SshArguments(session, port, "true"), timeout: TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 255, result.ToString());
        Assert.DoesNotContain(HostKeyVerificationFailed, result.StandardError, StringComparison.Ordinal);
        Assert.Contains("Permission denied", result.StandardError, StringComparison.Ordinal);
    }
}
