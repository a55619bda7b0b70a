using Dedalus.Contracts;
using Dedalus.Server.Console;
using Dedalus.Server.Console.Terminal;
using Dedalus.Server.Hosting;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Dedalus.Server.Tests.Terminal;

/// <summary>A server that stops with a terminal open: the browser is told, ssh ends, the session is closed.</summary>
public sealed class TerminalShutdownRuncTests : IAsyncLifetime
{
    private readonly TempDirectory _data = new("dedalus-terminal-stop-");
    private readonly int _port = FreePort.Next();
    private WebApplication _app = null!;
    private HttpClient _http = null!;
    private bool _stopped;

    public async Task InitializeAsync() =>
        (_app, _http, _) = await RuncServer.StartAsync(
            _data.Path, _port, _port, ["--machine-network", "off"], "terminal-stop");

    [Fact]
    public async Task Stopping_the_server_closes_its_terminals_with_code_shutdown_and_closes_their_sessions()
    {
        var cookie = (await _app.Services.GetRequiredService<ConsoleSessions>().SignInAsync(_http.DefaultRequestHeaders.GetValues("x-api-key").Single()))!.Value.Token;
        var machine = await _http.SendJsonAsync(HttpMethod.Post, "/v1/machines", """{"vcpu":0.5,"memory_mib":256,"storage_gib":1}""", DedalusJsonContext.Default.Machine);
        Assert.True(
            await Eventually.TrueAsync(
                async () => (await _http.SendJsonAsync(HttpMethod.Get, $"/v1/machines/{machine.MachineId}", null, DedalusJsonContext.Default.Machine)).Phase == MachinePhases.Running,
                TimeSpan.FromMinutes(15)),
            "the machine never ran");
        await using var terminal = await TerminalConnection.ConnectAsync(_app.BoundAddresses()[0], machine.MachineId, cookie);
        var sessionId = (await terminal.WaitForFrameAsync("ready")).GetProperty("session_id").GetString()!;
        var sshPid = _app.Services.GetRequiredService<TerminalHost>().Open.Single().SshProcessId!.Value;

        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
        {
            await StopAsync(cts.Token);
        }

        var closed = await terminal.WaitForFrameAsync("closed");
        Assert.Equal(TerminalEnd.ShutdownCode, closed.GetProperty("code").GetString());
        Assert.False(File.Exists($"/proc/{sshPid}/stat"), "ssh outlived the server");
        var session = await _app.Services.GetRequiredService<Dedalus.Server.Store.IStore>().GetSessionAsync(sessionId);
        Assert.Equal(SshSessionStatuses.Closed, session!.Status);
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        var store = _app.Services.GetRequiredService<Dedalus.Server.Store.IStore>();
        var runtime = _app.Services.GetRequiredService<Dedalus.Machines.Runtime.IMachineRuntime>();
        await _app.StopAsync(cancellationToken);
        _stopped = true;
        foreach (var machine in await store.ListLiveMachinesAsync(cancellationToken))
        {
            await runtime.DeleteAsync(machine.Id, cancellationToken);
        }
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        if (!_stopped)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            await StopAsync(cts.Token);
        }

        await _app.DisposeAsync();
        _data.Dispose();
    }
}
