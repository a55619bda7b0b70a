namespace Dedalus.Gateway;

/// <summary>What kind of gateway operation failed (<see cref="GatewayException.Error"/>): callers decide on it, never on the message.</summary>
public enum GatewayError
{
    /// <summary>None of the kinds below.</summary>
    Other,

    /// <summary>The port is outside the gateway's configured range.</summary>
    PortOutsideRange,

    /// <summary>Another socket holds the port (<c>EADDRINUSE</c>): another process, or another listener of this one.</summary>
    PortInUse,

    /// <summary>The port could not be bound for another reason (no permission, an address the host does not have).</summary>
    BindFailed,

    /// <summary>The machine already listens on another port.</summary>
    ListeningOnAnotherPort,
}
