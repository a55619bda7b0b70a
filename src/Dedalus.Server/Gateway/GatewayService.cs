using System.Net;
using Dedalus.Gateway;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Hosting;

namespace Dedalus.Server.Gateway;

/// <summary>
/// Runs the TCP gateway in-process: listeners opened and closed by the reconciler, the connections of closed
/// sessions cut, and the open-connection counts autosleep reads. Stopping the host stops every listener.
/// </summary>
public sealed class GatewayService : IHostedService, IMachinePorts, ISessionConnections, IOpenConnections, ILiveConnections, IAsyncDisposable
{
    private readonly SshGateway _gateway;
    private readonly ILogger<GatewayService> _logger;

    public GatewayService(
        ISshServerConnector sshServers,
        GatewayBackend backend,
        ServerOptions options,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory,
        GatewayMetrics metrics)
    {
        _logger = loggerFactory.CreateLogger<GatewayService>();
        _gateway = new SshGateway(
            new GatewayOptions
            {
                ListenAddress = IPAddress.Parse(options.GatewayBind),
                PortRangeStart = options.GatewayPorts.Low,
                PortRangeEnd = options.GatewayPorts.High,
            },
            sshServers,
            backend,
            timeProvider,
            loggerFactory.CreateLogger<SshGateway>(),
            metrics);
    }

    public SshGateway Gateway => _gateway;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => _gateway.DisposeAsync().AsTask();

    public async Task<PortOpenResult> OpenAsync(string machineId, int port, CancellationToken cancellationToken = default)
    {
        if (_gateway.GetEndPoint(machineId) is { } current && current.Port != port)
        {
            // The machine moved (or a move was not stored): the stored port wins. One reconciler pass per machine at a
            // time opens and closes its listener, so nothing races this.
            await _gateway.CloseAsync(machineId, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await _gateway.OpenAsync(machineId, port, cancellationToken).ConfigureAwait(false);
            return PortOpenResult.Listening;
        }
        catch (GatewayException ex)
        {
            // The caller decides what a failure means and logs that; the socket error is detail.
            ServerLog.GatewayOpenFailed(_logger, machineId, port, ex);
            return ex.Error switch
            {
                GatewayError.PortInUse => PortOpenResult.InUse,
                GatewayError.PortOutsideRange => PortOpenResult.OutsideRange,
                _ => PortOpenResult.Unavailable,
            };
        }
    }

    public Task CloseAsync(string machineId, CancellationToken cancellationToken = default) => _gateway.CloseAsync(machineId, cancellationToken);

    public Task<int> CloseSessionConnectionsAsync(string sessionId, CancellationToken cancellationToken = default) =>
        _gateway.CloseSessionConnectionsAsync(sessionId, cancellationToken);

    public int Count(string machineId) => _gateway.GetOpenConnectionCount(machineId);

    public IReadOnlyList<GatewayConnectionSnapshot> Open(string? machineId = null) => _gateway.GetConnections(machineId);

    public ValueTask DisposeAsync() => _gateway.DisposeAsync();
}
