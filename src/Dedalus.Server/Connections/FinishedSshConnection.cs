namespace Dedalus.Server.Connections;

/// <summary>A finished (or refused) SSH connection to a machine, from the gateway's audit (JSON: snake_case).</summary>
/// <param name="SessionId">The SSH session it logged in with; absent when no login succeeded (refused, failed, timed out).</param>
/// <param name="Peer">The client's <c>ip:port</c>, from the socket.</param>
/// <param name="StartedAt">When the gateway accepted it.</param>
/// <param name="EndedAt">When it ended.</param>
/// <param name="BytesIn">Bytes from the client to the machine.</param>
/// <param name="BytesOut">Bytes from the machine to the client.</param>
/// <param name="EndReason">How it ended: <c>client_closed</c>, <c>machine_closed</c>, <c>session_closed</c>, <c>gateway_closed</c>, a <c>refused_*</c> reason, ...</param>
/// <param name="Detail">What went wrong, for errors and refusals (at most 1024 characters).</param>
public sealed record FinishedSshConnection(
    string? SessionId,
    string Peer,
    DateTimeOffset StartedAt,
    DateTimeOffset EndedAt,
    long BytesIn,
    long BytesOut,
    string EndReason,
    string? Detail = null);
