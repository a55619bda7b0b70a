namespace Dedalus.Gateway;

/// <summary>
/// One open connection as the gateway sees it at the moment of <see cref="SshGateway.GetConnections"/>: every field comes
/// from the gateway itself (the peer from the accepted socket, the session from the line sshd wrote when it accepted the
/// certificate, the bytes from the pumps), never from anything the client or the machine sends as data.
/// </summary>
/// <param name="ConnectionId">Gateway-local id (unique within one gateway process; the audit's <see cref="GatewayConnectionRecord.ConnectionId"/>).</param>
/// <param name="MachineId">The machine whose port was reached.</param>
/// <param name="PeerAddress">The client's address and port (<c>ip:port</c>) as the socket has it.</param>
/// <param name="StartedAt">When the connection was accepted.</param>
/// <param name="SessionId">The certificate key id sshd accepted (= session id); null until the login succeeds.</param>
/// <param name="Serial">The certificate serial sshd accepted; null until the login succeeds.</param>
/// <param name="BytesFromClient">Bytes client to machine so far.</param>
/// <param name="BytesToClient">Bytes machine to client so far.</param>
public sealed record GatewayConnectionSnapshot(
    long ConnectionId,
    string MachineId,
    string PeerAddress,
    DateTimeOffset StartedAt,
    string? SessionId,
    ulong? Serial,
    long BytesFromClient,
    long BytesToClient);
