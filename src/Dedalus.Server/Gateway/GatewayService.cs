using System.Net;
using Dedalus.Gateway;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Hosting;

namespace Dedalus.Server.Gateway;

/// <summary>
/// Runs the TCP gateway in-process: listeners opened and closed by the reconciler, the connections of closed
/// sessions cut, and the open-connection counts autosleep reads. Stopping the host stops every listener.
/// </summary>
public sealed class GatewayService : IHostedService, IMachinePorts, ISessionConnections, IOpenConnections, IAsyncDisposable
{
    private readonly SshGateway _gateway;
    private readonly ILogger<GatewayService> _logger;

    public GatewayService(
        ISshServerConnector sshServers,
        GatewayBackend backend,
        ServerOptions options,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory)
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
            loggerFactory.CreateLogger<SshGateway>());
    }

    public SshGateway Gateway => _gateway;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

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

    public int Count(string machineId) => _gateway.GetOpenConnectionCount(machineId);

    public ValueTask DisposeAsync() => _gateway.DisposeAsync();
}
