using System.Net;
using Dedalus.Gateway;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Domain;
using Dedalus.Server.Hosting;
using Dedalus.Server.Logging;
using Dedalus.Server.Store;

namespace Dedalus.Server.Gateway;

/// <summary>
/// Runs the TCP gateway in-process: opens every live machine's port on start, follows creates and
/// destroys, cuts the connections of closed sessions, and tells autosleep about open connections.
/// </summary>
public sealed class GatewayService : IHostedService, IMachinePorts, ISessionConnectionCloser, IAsyncDisposable
{
    private readonly SshGateway _gateway;
    private readonly IStore _store;
    private readonly ILogger<GatewayService> _logger;

    public GatewayService(
        IStore store,
        IMachineRuntime runtime,
        GatewayBackend backend,
        MachineActivity activity,
        ServerOptions options,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory)
    {
        _store = store;
        _logger = loggerFactory.CreateLogger<GatewayService>();
        _gateway = new SshGateway(
            new GatewayOptions
            {
                ListenAddress = IPAddress.Parse(options.GatewayBindAddress),
                PortRangeStart = options.GatewayPortLow,
                PortRangeEnd = options.GatewayPortHigh,
            },
            runtime,
            backend,
            timeProvider,
            loggerFactory.CreateLogger<SshGateway>());
        activity.OpenConnectionCount = _gateway.GetOpenConnectionCount;
    }

    public SshGateway Gateway => _gateway;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var machine in await _store.ListLiveMachinesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (machine.DesiredState != Contracts.DesiredStates.Destroyed)
            {
                await OpenAsync(machine.Id, machine.GatewayPort, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => _gateway.DisposeAsync().AsTask();

    public async Task OpenAsync(string machineId, int port, CancellationToken cancellationToken = default)
    {
        try
        {
            await _gateway.OpenAsync(machineId, port, cancellationToken).ConfigureAwait(false);
        }
        catch (GatewayException ex)
        {
            ServerLog.GatewayOpenFailed(_logger, machineId, port, ex);
        }
    }

    public Task CloseAsync(string machineId, CancellationToken cancellationToken = default) => _gateway.CloseAsync(machineId, cancellationToken);

    public Task<int> CloseSessionConnectionsAsync(string sessionId, CancellationToken cancellationToken = default) =>
        _gateway.CloseSessionConnectionsAsync(sessionId, cancellationToken);

    public ValueTask DisposeAsync() => _gateway.DisposeAsync();
}
