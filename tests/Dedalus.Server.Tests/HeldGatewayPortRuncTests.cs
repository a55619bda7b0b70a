using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Dedalus.Contracts;
using Dedalus.Machines.Runc;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Dedalus.Server.Tests;

/// <summary>
/// A restart with a machine's gateway port held by another process, with real parts: the server with the runc runtime
/// and the in-process gateway on loopback, a socket of the test holding the port, and the real <c>ssh</c> client with
/// strict host checking against the host CA.
/// </summary>
public sealed class HeldGatewayPortRuncTests : IAsyncLifetime
{
    private static readonly TimeSpan MachineTimeout = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan PortTimeout = TimeSpan.FromMinutes(3);
    private readonly TempDirectory _data = new("dedalus-held-port-");
    private readonly TempDirectory _client = new("dedalus-held-port-client-");
    private readonly int _low = FreePort.Range(2);
    private WebApplication? _app;
    private HttpClient? _http;
    private TcpListener? _holder;

    private HttpClient Http => _http!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _holder?.Dispose();
        if (_app is not null)
        {
            await StopServerAsync();
        }

        // Even when a restart failed: a runtime on the same directory adopts the machines the servers started.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var runtime = new RuncMachineRuntime(new RuncRuntimeOptions { DataDirectory = Path.Combine(_data.Path, "runtime") });
        foreach (var machineId in await runtime.ListAsync(cts.Token))
        {
            await runtime.DeleteAsync(machineId, cts.Token);
        }

        _data.Dispose();
        _client.Dispose();
    }

    /// <summary>Starts the server on the test's data directory; the first start makes an API key, later ones reuse it.</summary>
    private async Task StartServerAsync(string attempts, string retryDelay, string? apiKey = null)
    {
        (_app, _http, _) = await RuncServer.StartAsync(
            _data.Path,
            _low,
            _low + 1,
            ["--Dedalus:GatewayPortAttempts", attempts, "--Dedalus:GatewayPortRetryDelay", retryDelay],
            "held-port",
            apiKey,
            TimeSpan.FromSeconds(120));
    }

    private async Task StopServerAsync()
    {
        _http?.Dispose();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await _app!.StopAsync(cts.Token);
        await _app.DisposeAsync();
        _app = null;
    }

    /// <summary>
    /// A running runc machine on the range's first port and a ready session for a fresh key; then the server stops,
    /// the test takes the port, and the server starts again on the same data directory (the machine keeps running).
    /// </summary>
    private async Task<(string MachineId, SshSession Early, string KeyPath)> RestartWithPortHeldAsync(string attempts, string retryDelay)
    {
        await StartServerAsync(attempts, retryDelay);
        var apiKey = Http.DefaultRequestHeaders.GetValues("x-api-key").Single();
        var created = await SendAsync(HttpMethod.Post, "/v1/machines", """{"vcpu":0.5,"memory_mib":256,"storage_gib":1}""", DedalusJsonContext.Default.Machine);
        await WaitForMachineAsync(created.MachineId, m => m.Phase == MachinePhases.Running, MachineTimeout);
        var (publicKey, keyPath) = await ClientKeys.GenerateAsync(_client, "id");
        var early = await OpenSessionAsync(created.MachineId, publicKey);
        Assert.Equal(SshSessionStatuses.Ready, early.Status);
        Assert.Equal(_low, early.Connection!.Port);
        await StopServerAsync();

        _holder = new TcpListener(IPAddress.Loopback, _low);
        _holder.Start();
        await StartServerAsync(attempts, retryDelay, apiKey);
        return (created.MachineId, early, keyPath);
    }

    private Task<SshSession> OpenSessionAsync(string machineId, string publicKey) =>
        SendAsync(HttpMethod.Post, $"/v1/machines/{machineId}/ssh", JsonSerializer.Serialize(new CreateSshSessionRequest(publicKey), DedalusJsonContext.Default.CreateSshSessionRequest), DedalusJsonContext.Default.SshSession);

    private Task<SshSession> GetSessionAsync(string machineId, string sessionId) =>
        SendAsync(HttpMethod.Get, $"/v1/machines/{machineId}/ssh/{sessionId}", null, DedalusJsonContext.Default.SshSession);

    private Task<T> SendAsync<T>(HttpMethod method, string path, string? json, JsonTypeInfo<T> type) =>
        Http.SendJsonAsync(method, path, json, type);

    private async Task<Machine> WaitForMachineAsync(string machineId, Func<Machine, bool> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var machine = await SendAsync(HttpMethod.Get, $"/v1/machines/{machineId}", null, DedalusJsonContext.Default.Machine);
            if (condition(machine))
            {
                return machine;
            }

            Assert.True(deadline.Elapsed < timeout, $"machine is {machine.Phase} ({machine.Status.Reason}): {machine.Status.LastError}");
            Assert.NotEqual(MachinePhases.Failed, machine.Phase);
            await Task.Delay(100);
        }
    }

    private async Task<SshSession> WaitUntilReadyAsync(string machineId, SshSession session)
    {
        var deadline = Stopwatch.StartNew();
        while (session.Status is SshSessionStatuses.SshInProgress or SshSessionStatuses.WakeInProgress)
        {
            Assert.True(deadline.Elapsed < PortTimeout, $"the session is still {session.Status}");
            await Task.Delay((int)(session.RetryAfterMs ?? 500));
            session = await GetSessionAsync(machineId, session.SessionId);
        }

        return session;
    }

    /// <summary>Runs a command in the machine with real ssh: the session's certificate, the host CA only, strict host checking.</summary>
    private async Task<ProcessResult> SshAsync(string keyPath, SshSession session, params string[] command)
    {
        await File.WriteAllTextAsync(keyPath + "-cert.pub", session.Connection!.UserCertificate + "\n");
        var knownHosts = _client.Combine("known_hosts");
        await File.WriteAllTextAsync(knownHosts, $"@cert-authority {session.Connection.HostTrust!.HostPattern} {session.Connection.HostTrust.PublicKey}\n");
        return await ProcessRunner.RunAsync(
            "ssh",
            [
                "-i", keyPath, "-o", $"CertificateFile={keyPath}-cert.pub", "-o", $"UserKnownHostsFile={knownHosts}",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes",
                "-o", "BatchMode=yes", "-o", "ConnectTimeout=20",
                "-p", session.Connection.Port.ToString(CultureInfo.InvariantCulture), $"{session.Connection.SshUsername}@{session.Connection.Endpoint}",
                "--", .. command,
            ],
            timeout: TimeSpan.FromSeconds(90));
    }

    [Fact]
    public async Task After_a_restart_with_its_port_held_a_machine_says_so_holds_new_sessions_and_serves_ssh_once_the_port_is_released()
    {
        // Never moves in this test: the port comes back first.
        var (machineId, _, _) = await RestartWithPortHeldAsync(attempts: "1000", retryDelay: "00:00:00.200");

        var held = await WaitForMachineAsync(machineId, m => m.Status.Reason == "gateway_port_unavailable", PortTimeout);
        var (publicKey, keyPath) = await ClientKeys.GenerateAsync(_client, "second");
        var waiting = await OpenSessionAsync(machineId, publicKey);
        Assert.Equal(MachinePhases.Running, held.Phase);
        Assert.Equal($"gateway port {_low} is held by another process; retrying", held.Status.LastError);
        Assert.True(held.Status.Retryable);
        Assert.Equal(SshSessionStatuses.SshInProgress, waiting.Status);
        Assert.Null(waiting.Connection);

        _holder!.Stop();
        var ready = await WaitUntilReadyAsync(machineId, waiting);
        var open = await WaitForMachineAsync(machineId, m => m.Status.Reason != "gateway_port_unavailable", PortTimeout);

        Assert.Equal(SshSessionStatuses.Ready, ready.Status);
        Assert.Equal(_low, ready.Connection!.Port);
        Assert.Null(open.Status.LastError);
        var hello = await SshAsync(keyPath, ready, "echo", "port-is-back");
        Assert.True(hello.ExitCode == 0, hello.ToString());
        Assert.Contains("port-is-back", hello.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_a_restart_with_its_port_held_for_good_a_machine_moves_to_a_free_port_and_ssh_follows_it()
    {
        var (machineId, early, keyPath) = await RestartWithPortHeldAsync(attempts: "3", retryDelay: "00:00:00.500");

        var store = _app!.Services.GetRequiredService<Dedalus.Server.Store.IStore>();
        Assert.True(
            await Eventually.TrueAsync(async () => (await store.GetMachineAsync(StoreIds.StoreId(machineId)))!.GatewayPort == _low + 1, PortTimeout),
            "the machine never moved off its held port");
        var followed = await GetSessionAsync(machineId, early.SessionId);
        var (publicKey, freshKeyPath) = await ClientKeys.GenerateAsync(_client, "fresh");
        var fresh = await OpenSessionAsync(machineId, publicKey);
        var machine = await SendAsync(HttpMethod.Get, $"/v1/machines/{machineId}", null, DedalusJsonContext.Default.Machine);

        // Its status said so on the way (the stream's events): the held port, then the move.
        var history = await store.GetMachineEventsAsync(StoreIds.StoreId(machineId), 0);
        Assert.Contains(history, e => e.Payload.Contains("\"reason\":\"gateway_port_unavailable\"", StringComparison.Ordinal));
        Assert.Contains(history, e => e.Payload.Contains($"gateway port {_low} is held by another process; moved to port {_low + 1}", StringComparison.Ordinal));
        Assert.NotEqual("gateway_port_unavailable", machine.Status.Reason);
        Assert.Equal(_low + 1, followed.Connection!.Port);
        Assert.Equal(SshSessionStatuses.Ready, fresh.Status);
        Assert.Equal(_low + 1, fresh.Connection!.Port);

        // The session from before the restart and a new one both log in on the new port.
        var before = await SshAsync(keyPath, followed, "echo", "moved-early");
        var after = await SshAsync(freshKeyPath, fresh, "echo", "moved-fresh");
        Assert.True(before.ExitCode == 0, before.ToString());
        Assert.Contains("moved-early", before.StandardOutput, StringComparison.Ordinal);
        Assert.True(after.ExitCode == 0, after.ToString());
        Assert.Contains("moved-fresh", after.StandardOutput, StringComparison.Ordinal);
    }
}
