namespace Dedalus.Gateway;

/// <summary>How a gateway connection ended (the audit's <c>end_reason</c>; see <see cref="GatewayConnectionEndExtensions.ToWireName"/>).</summary>
public enum GatewayConnectionEnd
{
    /// <summary>The client closed (or reset) its side first.</summary>
    ClientClosed,

    /// <summary>sshd inside the machine ended the connection first (logout, failed authentication, sshd exit).</summary>
    MachineClosed,

    /// <summary>Cut by <see cref="SshGateway.CloseSessionConnectionsAsync"/> (session deleted).</summary>
    SessionClosed,

    /// <summary>Cut by the gateway itself: <see cref="SshGateway.CloseMachineConnections"/>, <see cref="SshGateway.CloseAsync"/> or shutdown.</summary>
    GatewayClosed,

    /// <summary>Refused: the backend does not know the machine.</summary>
    RefusedUnknownMachine,

    /// <summary>Refused: the machine is deleted.</summary>
    RefusedDeleted,

    /// <summary>Refused: the machine sleeps and has no live session.</summary>
    RefusedSleeping,

    /// <summary>Refused: <see cref="GatewayOptions.MaxConnectionsPerMachine"/> reached.</summary>
    RefusedMachineLimit,

    /// <summary>Refused: <see cref="GatewayOptions.MaxConnections"/> reached.</summary>
    RefusedGatewayLimit,

    /// <summary>Something failed (backend, wake, exec, I/O); the record's detail says what.</summary>
    Error,
}
