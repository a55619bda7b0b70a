namespace Dedalus.Server.Store;

/// <summary>
/// One open gateway connection as its node last wrote it (<c>ssh_live_connections</c>): the node's gateway knows it, the
/// other nodes read it here.
/// </summary>
/// <param name="NodeId">The node whose gateway holds the connection.</param>
/// <param name="ConnectionId">That gateway's id of the connection (unique per node and process).</param>
/// <param name="MachineId">The machine reached.</param>
/// <param name="SessionId">The session it logged in with; null until it has.</param>
/// <param name="Serial">The certificate serial it logged in with; null until it has.</param>
/// <param name="Peer">The client's <c>ip:port</c>, from the socket.</param>
/// <param name="StartedAt">When the gateway accepted it.</param>
/// <param name="BytesIn">Bytes client to machine, as of <paramref name="UpdatedAt"/>.</param>
/// <param name="BytesOut">Bytes machine to client, as of <paramref name="UpdatedAt"/>.</param>
/// <param name="UpdatedAt">When the node last wrote the row.</param>
public sealed record LiveConnectionRecord(
    string NodeId,
    long ConnectionId,
    string MachineId,
    string? SessionId,
    ulong? Serial,
    string Peer,
    DateTimeOffset StartedAt,
    long BytesIn,
    long BytesOut,
    DateTimeOffset UpdatedAt);
