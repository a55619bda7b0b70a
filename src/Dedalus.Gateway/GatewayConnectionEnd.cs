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

    /// <summary>Refused: the client's first bytes are not an SSH identification line (another protocol, or an SSH version other than 2.0).</summary>
    RefusedNotSsh,

    /// <summary>Refused: <see cref="GatewayOptions.MaxPendingConnectionsPerSource"/> reached for the client's address.</summary>
    RefusedSourceLimit,

    /// <summary>
    /// Refused: <see cref="GatewayOptions.MaxPendingConnectionsPerMachine"/> or <see cref="GatewayOptions.MaxPendingConnections"/>
    /// reached, with no silent connection to drop instead.
    /// </summary>
    RefusedPendingLimit,

    /// <summary>Dropped while it waited for its identification line, to make room for a new connection (a pending budget was full).</summary>
    PendingEvicted,

    /// <summary>No identification line within <see cref="GatewayOptions.IdentificationTimeout"/>; nothing was started.</summary>
    IdentificationTimeout,

    /// <summary>Not authenticated within <see cref="GatewayOptions.AuthenticationTimeout"/>: cut (its sshd, if any, killed).</summary>
    AuthenticationTimeout,

    /// <summary>
    /// Cut: the client's first packet after its identification line was not a KEXINIT of printable US-ASCII names
    /// (<see cref="GatewayOptions"/>; sshd never saw it). The record's detail says what was wrong.
    /// </summary>
    ProtocolViolation,
}
