namespace Dedalus.Server.Store;

/// <summary>One finished gateway connection, for the <c>ssh_connections</c> audit.</summary>
/// <param name="MachineId">The machine whose port was reached.</param>
/// <param name="SessionId">The session it logged in with; null when no login succeeded.</param>
/// <param name="Serial">The certificate serial it logged in with; null when no login succeeded.</param>
/// <param name="Peer">The client's <c>ip:port</c>, from the socket.</param>
/// <param name="StartedAt">When the gateway accepted it.</param>
/// <param name="EndedAt">When it ended.</param>
/// <param name="BytesIn">Bytes client to machine.</param>
/// <param name="BytesOut">Bytes machine to client.</param>
/// <param name="EndReason">How it ended (the gateway's wire name: <c>client_closed</c>, <c>refused_sleeping</c>, ...).</param>
/// <param name="Detail">A short detail for errors and refusals (bounded; never secrets).</param>
/// <param name="Live">
/// The connection's live row, when its node published one: deleted in the transaction that writes the audit row, so a
/// reader finds the connection live or finished, not both.
/// </param>
public sealed record ConnectionAudit(
    string MachineId,
    string? SessionId,
    ulong? Serial,
    string Peer,
    DateTimeOffset StartedAt,
    DateTimeOffset EndedAt,
    long BytesIn,
    long BytesOut,
    string EndReason,
    string? Detail,
    LiveConnectionKey? Live = null);
