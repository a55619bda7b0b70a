namespace Dedalus.Server.Domain;

/// <summary>Stands in for the gateway when it is disabled: nothing to open, close or cut.</summary>
public sealed class NoGateway : IMachinePorts, ISessionConnectionCloser
{
    public Task OpenAsync(string machineId, int port, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task CloseAsync(string machineId, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<int> CloseSessionConnectionsAsync(string sessionId, CancellationToken cancellationToken = default) => Task.FromResult(0);
}
