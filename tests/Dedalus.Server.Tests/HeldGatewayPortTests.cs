using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.Server.Gateway;
using Dedalus.Server.Reconciliation;
using Dedalus.Server.Store;
using Dedalus.Server.Tests.Infrastructure;
using Dedalus.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Dedalus.Server.Tests;

/// <summary>
/// A machine's gateway port held by another process: after a restart, or as a new machine gets it. The real gateway on
/// loopback, real sockets holding the ports, SQLite, the in-memory runtime, and a fake clock that paces the retries.
/// </summary>
public sealed class HeldGatewayPortTests : IAsyncLifetime
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);
    private readonly TempDirectory _data = new();
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly LogCollector _logs = new();
    private readonly int _low = FreePort.Range(2);
    private RunningServer? _server;
    private ApiClient? _api;
    private TcpListener? _holder;

    private RunningServer Server => _server!;

    private ApiClient Api => _api!;


    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _api?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _holder?.Dispose();
        _data.Dispose();
    }

    private async Task StartServerAsync(int high, string? apiKey = null)
    {
        _server = await RunningServer.StartAsync(
            _data.Path,
            _clock,
            [
                "--gateway", "true", "--gateway-ports", $"{_low}-{high}", "--gateway-bind", "127.0.0.1",
                "--Dedalus:GatewayPortRetryDelay", "00:00:01", "--Dedalus:SweepInterval", "40.00:00:00",
            ],
            _logs);
        _api = apiKey is null ? await _server.NewClientAsync() : _server.Client(apiKey);
    }

    /// <summary>Another process takes the port (a listening socket on the gateway's address).</summary>
    private void Hold(int port)
    {
        _holder = new TcpListener(IPAddress.Loopback, port);
        _holder.Start();
    }

    /// <summary>
    /// A running machine on the range's first port with a ready session; the server stops, another process takes the
    /// port, and the server starts again on the same data directory.
    /// </summary>
    private async Task<(string MachineId, SshSession Early)> RestartWithPortHeldAsync(int high)
    {
        await StartServerAsync(high);
        var machine = await Api.CreateRunningMachineAsync();
        var early = (await Api.OpenSessionAsync(machine.MachineId)).Session();
        Assert.Equal(SshSessionStatuses.Ready, early.Status);
        Assert.Equal(_low, early.Connection!.Port);
        var key = Api.ApiKey;
        Api.Dispose();
        await Server.DisposeAsync();

        Hold(_low);
        await StartServerAsync(high, key);
        return (machine.MachineId, early);
    }

    private async Task<Machine> MachineAsync(string machineId) => (await Api.GetAsync($"/v1/machines/{machineId}")).Machine();

    private async Task<SshSession> SessionAsync(string machineId, string sessionId) => (await Api.GetAsync($"/v1/machines/{machineId}/ssh/{sessionId}")).Session();

    /// <summary>Advances the fake clock to the next attempt and waits for the reconciler to handle it.</summary>
    private async Task NextAttemptAsync(TimeSpan backOff)
    {
        _clock.Advance(backOff);
        await Server.SettleAsync();
    }

    /// <summary>
    /// Whatever answers on the port says it is the gateway: after the client's identification line (the gateway starts
    /// nothing before it) the in-memory runtime, which has no sshd, gets a refusal line, then close.
    /// </summary>
    private static async Task<string> GatewayGreetingAsync(int port)
    {
        using var client = new TcpClient();
        using var cts = new CancellationTokenSource(RunningServer.Timeout);
        await client.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        await client.GetStream().WriteAsync("SSH-2.0-HeldPortTest\r\n"u8.ToArray(), cts.Token);
        var buffer = new byte[512];
        var read = await client.GetStream().ReadAsync(buffer, cts.Token);
        return Encoding.ASCII.GetString(buffer, 0, read);
    }

    [Fact]
    public async Task After_a_restart_a_held_port_shows_in_the_status_new_sessions_wait_and_the_port_opens_once_released()
    {
        var (machineId, _) = await RestartWithPortHeldAsync(high: _low + 1);
        var watching = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watch = WatchAsync(machineId, watching);
        await watching.Task.WaitAsync(RunningServer.Timeout);

        var held = await MachineAsync(machineId);
        var waiting = (await Api.OpenSessionAsync(machineId)).Session();

        Assert.Equal(MachinePhases.Running, held.Phase);
        Assert.Equal("gateway_port_unavailable", held.Status.Reason);
        Assert.True(held.Status.Retryable);
        Assert.Equal($"gateway port {_low} is held by another process; retrying", held.Status.LastError);
        Assert.Null(ListeningPort(StoreIds.StoreId(machineId)));
        Assert.Equal(SshSessionStatuses.SshInProgress, waiting.Status);
        Assert.Null(waiting.Connection);
        Assert.Equal(1000, waiting.RetryAfterMs);
        Assert.Equal("gateway_port_unavailable", Assert.Single((await Api.GetAsync("/v1/machines")).MachineList().Items).Status.Reason);
        Assert.False(watch.IsCompleted, "the status stream ended while the machine cannot be reached");

        _holder!.Stop();
        await NextAttemptAsync(RetryDelay);

        var open = await MachineAsync(machineId);
        var ready = await SessionAsync(machineId, waiting.SessionId);
        Assert.Equal("running", open.Status.Reason);
        Assert.False(open.Status.Retryable);
        Assert.Null(open.Status.LastError);
        Assert.True(long.Parse(open.Status.Revision) > long.Parse(held.Status.Revision));
        Assert.Equal(SshSessionStatuses.Ready, ready.Status);
        Assert.Equal(_low, ready.Connection!.Port);
        Assert.Equal(_low, ListeningPort(StoreIds.StoreId(machineId)));
        Assert.Contains("dedalus-gateway", await GatewayGreetingAsync(_low), StringComparison.Ordinal);
        Assert.Equal(_low, (await Server.Service<IStore>().GetMachineAsync(StoreIds.StoreId(machineId)))!.GatewayPort);
        var events = await watch.WaitAsync(RunningServer.Timeout);
        Assert.Equal("gateway_port_unavailable", events[0].Status.Reason);
        Assert.Equal("running", events[^1].Status.Reason);
        Assert.Contains("[1504]", _logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_that_stays_held_moves_the_machine_to_a_free_port_and_old_and_new_sessions_follow_it()
    {
        var (machineId, early) = await RestartWithPortHeldAsync(high: _low + 1);
        var waiting = (await Api.OpenSessionAsync(machineId)).Session();

        await NextAttemptAsync(RetryDelay);
        var stillHeld = await MachineAsync(machineId);
        await NextAttemptAsync(RetryDelay * 2);

        var moved = await MachineAsync(machineId);
        Assert.Equal("gateway_port_unavailable", stillHeld.Status.Reason);
        Assert.Equal("gateway_port_moved", moved.Status.Reason);
        Assert.False(moved.Status.Retryable);
        Assert.Equal($"gateway port {_low} is held by another process; moved to port {_low + 1}", moved.Status.LastError);
        Assert.Equal(_low + 1, (await Server.Service<IStore>().GetMachineAsync(StoreIds.StoreId(machineId)))!.GatewayPort);
        Assert.Equal(_low + 1, ListeningPort(StoreIds.StoreId(machineId)));
        Assert.Contains("dedalus-gateway", await GatewayGreetingAsync(_low + 1), StringComparison.Ordinal);

        var nowReady = await SessionAsync(machineId, waiting.SessionId);
        var followed = await SessionAsync(machineId, early.SessionId);
        var fresh = (await Api.OpenSessionAsync(machineId)).Session();
        Assert.Equal(SshSessionStatuses.Ready, nowReady.Status);
        Assert.Equal(_low + 1, nowReady.Connection!.Port);
        Assert.Equal(_low + 1, followed.Connection!.Port);
        Assert.Equal(SshSessionStatuses.Ready, fresh.Status);
        Assert.Equal(_low + 1, fresh.Connection!.Port);
        Assert.Contains("[1502]", _logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_no_other_port_free_the_machine_keeps_its_port_and_says_so_until_the_next_sweep_after_the_port_is_released()
    {
        var (machineId, _) = await RestartWithPortHeldAsync(high: _low);

        await NextAttemptAsync(RetryDelay);
        await NextAttemptAsync(RetryDelay * 2);
        var stuck = await MachineAsync(machineId);
        var waiting = (await Api.OpenSessionAsync(machineId)).Session();

        Assert.Equal("gateway_port_unavailable", stuck.Status.Reason);
        Assert.Equal($"gateway port {_low} is held by another process, and no other port of {_low}-{_low} is free; retrying", stuck.Status.LastError);
        Assert.Equal(SshSessionStatuses.SshInProgress, waiting.Status);
        Assert.Contains("[1503]", _logs.AllText, StringComparison.Ordinal);

        // The next attempt is 4 s away; the maintenance sweep looks sooner.
        _holder!.Stop();
        Assert.Equal(1, await Server.Service<MaintenanceService>().RequeueUnconvergedAsync());
        await Server.SettleAsync();

        Assert.Null((await MachineAsync(machineId)).Status.LastError);
        Assert.Equal(_low, (await SessionAsync(machineId, waiting.SessionId)).Connection!.Port);
        Assert.Equal(_low, ListeningPort(StoreIds.StoreId(machineId)));
    }

    [Fact]
    public async Task A_new_machine_whose_port_is_held_moves_at_once_since_no_client_knows_the_port_yet()
    {
        await StartServerAsync(high: _low + 1);
        Hold(_low);

        var machine = await Api.CreateRunningMachineAsync();
        var session = (await Api.OpenSessionAsync(machine.MachineId)).Session();

        Assert.Equal("running", machine.Status.Reason);
        Assert.Null(machine.Status.LastError);
        Assert.Equal(_low + 1, (await Server.Service<IStore>().GetMachineAsync(machine.StoreId()))!.GatewayPort);
        Assert.Equal(SshSessionStatuses.Ready, session.Status);
        Assert.Equal(_low + 1, session.Connection!.Port);
        Assert.Contains("dedalus-gateway", await GatewayGreetingAsync(_low + 1), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sessions_waiting_for_a_held_port_close_expire_and_end_with_their_machine_like_any_open_session()
    {
        var (machineId, _) = await RestartWithPortHeldAsync(high: _low + 1);
        var store = Server.Service<IStore>();
        var closing = (await Api.OpenSessionAsync(machineId)).Session();
        var expiring = (await Api.OpenSessionAsync(machineId)).Session();

        var closed = (await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machineId}/ssh/{closing.SessionId}")).Session();
        var revoked = await store.ListRevokedSerialsAsync(_clock.GetUtcNow());
        await NextAttemptAsync(TimeSpan.FromHours(1));
        await Server.Service<Dedalus.Server.Sessions.SessionLifecycle>().ExpireLapsedAsync();
        var ending = (await Api.OpenSessionAsync(machineId)).Session();
        await Api.SendAsync(HttpMethod.Delete, $"/v1/machines/{machineId}");
        await Api.WaitForPhaseAsync(machineId, MachinePhases.Destroyed);

        Assert.Equal(SshSessionStatuses.SshInProgress, closing.Status);
        Assert.Equal(SshSessionStatuses.Closed, closed.Status);
        Assert.Contains((await store.GetSessionAsync(closing.SessionId))!.Serial, revoked);
        Assert.Equal(SshSessionStatuses.Expired, (await store.GetSessionAsync(expiring.SessionId))!.Status);
        Assert.Equal(SshSessionStatuses.SshInProgress, ending.Status);
        var ended = await SessionAsync(machineId, ending.SessionId);
        Assert.Equal(SshSessionStatuses.Failed, ended.Status);
        Assert.Equal(ErrorCodes.MachineDestroyed, ended.ErrorCode);
        Assert.Equal(0, Server.Service<GatewayPortRecovery>().Count);
    }

    /// <summary>Follows the machine's status stream until it ends by itself; the events' machines in order.</summary>
    private async Task<List<Machine>> WatchAsync(string machineId, TaskCompletionSource firstEvent)
    {
        using var cts = new CancellationTokenSource(RunningServer.Timeout * 2);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/machines/{machineId}/status/stream");
        using var response = await Api.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        await using var stream = await response.Content.ReadAsStreamAsync(cts.Token);
        using var reader = new StreamReader(stream);
        var machines = new List<Machine>();
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                machines.Add(JsonSerializer.Deserialize(line[6..], DedalusJsonContext.Default.Machine)!);
                firstEvent.TrySetResult();
            }
        }

        return machines;
    }

    /// <summary>The port the gateway listens on for the machine, if any.</summary>
    private int? ListeningPort(string machineId) => Server.Service<GatewayService>().Gateway.GetEndPoint(machineId)?.Port;
}
