using Dedalus.Gateway;

namespace Dedalus.Server.Gateway;

/// <summary>Stands in for the gateway when it is disabled: nothing to open, close, cut, count or list.</summary>
public sealed class NoGateway : IMachinePorts, ISessionConnections, IOpenConnections, ILiveConnections
{
    public Task<PortOpenResult> OpenAsync(string machineId, int port, CancellationToken cancellationToken = default) => Task.FromResult(PortOpenResult.Listening);

    public Task CloseAsync(string machineId, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<int> CloseSessionConnectionsAsync(string sessionId, CancellationToken cancellationToken = default) => Task.FromResult(0);

    public int Count(string machineId) => 0;

    public IReadOnlyList<GatewayConnectionSnapshot> Open(string? machineId = null) => [];
}
