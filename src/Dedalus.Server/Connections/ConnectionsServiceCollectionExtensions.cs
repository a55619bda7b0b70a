namespace Dedalus.Server.Connections;

/// <summary>Registers the SSH connection lists: the ledger and publisher of this node's live connections, and the read service.</summary>
public static class ConnectionsServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="SshConnections"/> (what the API and the console read), <see cref="LiveConnectionLedger"/> (the
    /// gateway backend records each connection's end through it) and <see cref="LiveConnectionPublisher"/>. Needs the
    /// gateway's <see cref="Gateway.ILiveConnections"/> (or <see cref="Gateway.NoGateway"/>) and the cluster services.
    /// </summary>
    public static IServiceCollection AddSshConnections(this IServiceCollection services)
    {
        services.AddSingleton<LiveConnectionLedger>();
        services.AddSingleton<SshConnections>();
        services.AddHostedService<LiveConnectionPublisher>();
        return services;
    }
}
