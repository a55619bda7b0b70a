namespace Dedalus.Server.Store;

/// <summary>One finished gateway connection, for the <c>ssh_connections</c> audit.</summary>
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
    string? Detail);
