namespace Dedalus.Gateway;

/// <summary>The reason codes of SSH_MSG_DISCONNECT the gateway sends (RFC 4253 section 11.1).</summary>
internal enum SshDisconnectReason
{
    /// <summary>SSH_DISCONNECT_PROTOCOL_ERROR: the client does not speak SSH, or said nothing in time.</summary>
    ProtocolError = 2,

    /// <summary>SSH_DISCONNECT_SERVICE_NOT_AVAILABLE: the machine is unknown, deleted, asleep or unreachable.</summary>
    ServiceNotAvailable = 7,

    /// <summary>SSH_DISCONNECT_PROTOCOL_VERSION_NOT_SUPPORTED: an SSH version other than 2.0.</summary>
    ProtocolVersionNotSupported = 8,

    /// <summary>SSH_DISCONNECT_TOO_MANY_CONNECTIONS: a connection limit or budget.</summary>
    TooManyConnections = 12,
}
