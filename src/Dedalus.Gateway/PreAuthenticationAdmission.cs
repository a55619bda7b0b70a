namespace Dedalus.Gateway;

/// <summary>The answer of <see cref="PreAuthenticationBudget.TryEnter"/> for a new connection.</summary>
internal enum PreAuthenticationAdmission
{
    /// <summary>Counted as pending; on to its identification line.</summary>
    Entered,

    /// <summary>Its source has <see cref="GatewayOptions.MaxPendingConnectionsPerSource"/> pending connections.</summary>
    SourceFull,

    /// <summary>Its machine has <see cref="GatewayOptions.MaxPendingConnectionsPerMachine"/> pending connections, none of them silent.</summary>
    MachineFull,

    /// <summary>The gateway has <see cref="GatewayOptions.MaxPendingConnections"/> pending connections, none of them silent.</summary>
    GatewayFull,
}
