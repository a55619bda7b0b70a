namespace Dedalus.Server.Domain;

/// <summary>Cuts the live SSH connections of a closed session (the gateway); a no-op without a gateway.</summary>
public interface ISessionConnectionCloser
{
    Task<int> CloseSessionConnectionsAsync(string sessionId, CancellationToken cancellationToken = default);
}
