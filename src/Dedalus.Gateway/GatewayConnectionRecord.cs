namespace Dedalus.Gateway;

/// <summary>The audit record of one gateway connection, handed to <see cref="IGatewayBackend.RecordConnectionAsync"/> when it ends.</summary>
/// <param name="ConnectionId">Gateway-local id (unique within one gateway process).</param>
/// <param name="MachineId">The machine whose port was reached.</param>
/// <param name="SessionId">The certificate key id sshd accepted (= session id); null when no login succeeded.</param>
/// <param name="Serial">The certificate serial sshd accepted; null when no login succeeded.</param>
/// <param name="PeerAddress">The client's address and port (<c>ip:port</c>).</param>
/// <param name="StartedAt">When the connection was accepted.</param>
/// <param name="EndedAt">When it ended.</param>
/// <param name="BytesFromClient">Bytes client to machine.</param>
/// <param name="BytesToClient">Bytes machine to client.</param>
/// <param name="End">How it ended.</param>
/// <param name="Detail">A short human-readable detail for errors and refusals (never secrets).</param>
/// <param name="SshdStderrTail">The last lines sshd wrote on stderr (bounded), for diagnostics.</param>
public sealed record GatewayConnectionRecord(
    long ConnectionId,
    string MachineId,
    string? SessionId,
    ulong? Serial,
    string PeerAddress,
    DateTimeOffset StartedAt,
    DateTimeOffset EndedAt,
    long BytesFromClient,
    long BytesToClient,
    GatewayConnectionEnd End,
    string? Detail,
    IReadOnlyList<string> SshdStderrTail)
{
    /// <summary>Wall time the connection was open.</summary>
    public TimeSpan Duration => EndedAt - StartedAt;
}
