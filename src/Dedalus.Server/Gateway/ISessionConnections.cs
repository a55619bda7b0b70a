namespace Dedalus.Server.Gateway;

/// <summary>Cuts the live SSH connections of a closed session (the gateway); a no-op without a gateway.</summary>
public interface ISessionConnections
{
    /// <summary>Cuts every open connection that logged in with <paramref name="sessionId"/>; returns how many.</summary>
    Task<int> CloseSessionConnectionsAsync(string sessionId, CancellationToken cancellationToken = default);
}
