namespace Dedalus.Gateway;

/// <summary>Where a connection is on its way to an authenticated session (<see cref="GatewayConnection.Stage"/>).</summary>
internal enum ConnectionStage
{
    /// <summary>Accepted; waiting for the client's identification line. Nothing started.</summary>
    Identifying,

    /// <summary>Identified; the backend decides admission (and wakes the machine). The grace period pauses.</summary>
    Admitting,

    /// <summary>Admitted; waiting for a handshake slot. Nothing started.</summary>
    Queued,

    /// <summary>sshd started; not authenticated yet.</summary>
    Handshaking,

    /// <summary>sshd accepted the certificate.</summary>
    Authenticated,

    /// <summary>Timed out, dropped, or over.</summary>
    Ended,
}
