using System.Diagnostics;
using System.Net;
using Dedalus.Contracts;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Dedalus.Server.Tests;

/// <summary>
/// The whole path with real parts: the server with the runc runtime and the in-process gateway, a machine,
/// a session, and the real <c>ssh</c> client with strict host checking against the host CA only.
/// </summary>
public sealed class RuncEndToEndTests : IAsyncLifetime
{
    private static readonly TimeSpan MachineTimeout = TimeSpan.FromMinutes(15);
    private readonly TempDirectory _data = new("dedalus-e2e-");
    private readonly TempDirectory _client = new("dedalus-e2e-client-");
    private readonly int _port = FreePort.Next();
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        (_app, _http, _) = await RuncServer.StartAsync(_data.Path, _port, _port, [], "e2e");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await RuncServer.StopAsync(_app);
        _data.Dispose();
        _client.Dispose();
    }

    private Task<T> SendAsync<T>(HttpMethod method, string path, string? json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) =>
        _http.SendJsonAsync(method, path, json, type);

    private string[] SshArguments(string keyPath, params string[] command) =>
    [
        "-i", keyPath,
        "-o", $"CertificateFile={keyPath}-cert.pub",
        "-o", $"UserKnownHostsFile={_client.Combine("known_hosts")}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=20",
        "-p", _port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "machine@localhost",
        "--",
        .. command,
    ];

    private async Task<Machine> WaitForPhaseAsync(string machineId, string phase)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var machine = await SendAsync(HttpMethod.Get, $"/v1/machines/{machineId}", null, DedalusJsonContext.Default.Machine);
            if (machine.Phase == phase)
            {
                return machine;
            }

            Assert.True(deadline.Elapsed < MachineTimeout, $"machine is {machine.Phase}: {machine.Status.LastError}");
            Assert.NotEqual(MachinePhases.Failed, machine.Phase);
            await Task.Delay(100);
        }
    }

    private async Task WriteSessionFilesAsync(string keyPath, SshSession session)
    {
        await File.WriteAllTextAsync(keyPath + "-cert.pub", session.Connection!.UserCertificate + "\n");
        await File.WriteAllTextAsync(_client.Combine("known_hosts"), $"@cert-authority {session.Connection.HostTrust!.HostPattern} {session.Connection.HostTrust.PublicKey}\n");
    }

    [Fact]
    public async Task A_user_logs_in_with_the_session_certificate_and_deleting_the_session_cuts_and_bars_the_login()
    {
        var created = await SendAsync(HttpMethod.Post, "/v1/machines", """{"vcpu":1,"memory_mib":512,"storage_gib":1}""", DedalusJsonContext.Default.Machine);
        var machine = await WaitForPhaseAsync(created.MachineId, MachinePhases.Running);
        var (publicKey, keyPath) = await ClientKeys.GenerateAsync(_client, "id");
        var session = await SendAsync(HttpMethod.Post, $"/v1/machines/{machine.MachineId}/ssh", $$"""{"public_key":"{{publicKey}}"}""", DedalusJsonContext.Default.SshSession);
        Assert.Equal(SshSessionStatuses.Ready, session.Status);
        Assert.Equal(_port, session.Connection!.Port);
        await WriteSessionFilesAsync(keyPath, session);

        var hello = await ProcessRunner.RunAsync("ssh", SshArguments(keyPath, "echo", "hello-from", "$(hostname)"), timeout: TimeSpan.FromSeconds(60));
        Assert.True(hello.ExitCode == 0, hello.ToString());
        Assert.Contains("hello-from", hello.StandardOutput, StringComparison.Ordinal);

        // A long-running login is cut when the session is deleted: its command would run far past the bound on
        // the client, so a client that ends in time was cut.
        var longRunning = ProcessRunner.RunAsync("ssh", SshArguments(keyPath, "sleep", "1200"), timeout: TimeSpan.FromSeconds(120));
        var gateway = _app.Services.GetRequiredService<Dedalus.Server.Gateway.GatewayService>().Gateway;
        Assert.True(
            await Eventually.TrueAsync(() => gateway.GetSessionConnectionCount(session.SessionId) > 0, TimeSpan.FromSeconds(60)),
            "the long-running login never showed up in the gateway");

        var closed = await SendAsync(HttpMethod.Delete, $"/v1/machines/{machine.MachineId}/ssh/{session.SessionId}", null, DedalusJsonContext.Default.SshSession);
        var ended = await longRunning;
        Assert.Equal(SshSessionStatuses.Closed, closed.Status);
        Assert.NotEqual(0, ended.ExitCode);

        // The certificate is revoked: a new login is refused.
        var refused = await ProcessRunner.RunAsync("ssh", SshArguments(keyPath, "true"), timeout: TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task A_session_on_a_sleeping_machine_wakes_it_and_a_connection_to_a_sleeping_machine_with_a_live_session_wakes_it_too()
    {
        var created = await SendAsync(HttpMethod.Post, "/v1/machines", """{"vcpu":0.5,"memory_mib":256,"storage_gib":1}""", DedalusJsonContext.Default.Machine);
        await WaitForPhaseAsync(created.MachineId, MachinePhases.Running);
        await SendAsync(HttpMethod.Post, $"/v1/machines/{created.MachineId}/sleep", null, DedalusJsonContext.Default.Machine);
        await WaitForPhaseAsync(created.MachineId, MachinePhases.Sleeping);
        var (publicKey, keyPath) = await ClientKeys.GenerateAsync(_client, "sleepy");

        var session = await SendAsync(HttpMethod.Post, $"/v1/machines/{created.MachineId}/ssh", $$"""{"public_key":"{{publicKey}}"}""", DedalusJsonContext.Default.SshSession);
        // The create holds its answer while the machine wakes (SessionWakeHold): ready at once unless the wake is slow.
        Assert.Contains(session.Status, new[] { SshSessionStatuses.Ready, SshSessionStatuses.WakeInProgress });
        var deadline = Stopwatch.StartNew();
        while (session.Status == SshSessionStatuses.WakeInProgress)
        {
            Assert.True(deadline.Elapsed < MachineTimeout, "the session never turned ready");
            await Task.Delay((int)(session.RetryAfterMs ?? 500));
            session = await SendAsync(HttpMethod.Get, $"/v1/machines/{created.MachineId}/ssh/{session.SessionId}", null, DedalusJsonContext.Default.SshSession);
        }

        Assert.Equal(SshSessionStatuses.Ready, session.Status);
        await WriteSessionFilesAsync(keyPath, session);
        var first = await ProcessRunner.RunAsync("ssh", SshArguments(keyPath, "echo", "awake"), timeout: TimeSpan.FromSeconds(60));
        Assert.True(first.ExitCode == 0, first.ToString());

        // Asleep again, with the session still live: connecting wakes it through the gateway.
        await SendAsync(HttpMethod.Post, $"/v1/machines/{created.MachineId}/sleep", null, DedalusJsonContext.Default.Machine);
        await WaitForPhaseAsync(created.MachineId, MachinePhases.Sleeping);
        var second = await ProcessRunner.RunAsync("ssh", SshArguments(keyPath, "echo", "woken-by-gateway"), timeout: TimeSpan.FromSeconds(90));
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("woken-by-gateway", second.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(MachinePhases.Running, (await SendAsync(HttpMethod.Get, $"/v1/machines/{created.MachineId}", null, DedalusJsonContext.Default.Machine)).Phase);
    }
}
