namespace Dedalus.Server.Connections;

/// <summary>
/// An open SSH connection to a machine, as its node's gateway sees it (JSON: snake_case). Every field comes from the
/// gateway, not from the client or the machine: the peer from the accepted socket, the session from the line sshd wrote
/// when it accepted the session's certificate (attributed by the gateway, which refuses forged lines), the bytes from
/// its pumps.
/// </summary>
/// <param name="SessionId">The SSH session it logged in with; absent while it is still in its handshake.</param>
/// <param name="Peer">The client's <c>ip:port</c>.</param>
/// <param name="StartedAt">When the gateway accepted the connection.</param>
/// <param name="BytesIn">Bytes from the client to the machine so far (SSH protocol bytes, encrypted).</param>
/// <param name="BytesOut">Bytes from the machine to the client so far.</param>
/// <param name="AsOf">When the byte counts were read: now on the machine's own node, else its node's last write (every 2 s).</param>
public sealed record LiveSshConnection(
    string? SessionId,
    string Peer,
    DateTimeOffset StartedAt,
    long BytesIn,
    long BytesOut,
    DateTimeOffset AsOf);
