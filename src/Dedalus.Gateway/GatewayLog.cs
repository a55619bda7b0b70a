using Microsoft.Extensions.Logging;

namespace Dedalus.Gateway;

/// <summary>Source-generated log messages of the gateway; event ids are stable (3000-3099).</summary>
internal static partial class GatewayLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Gateway listening for {MachineId} on {EndPoint}")]
    public static partial void ListenerOpened(ILogger logger, string machineId, string endPoint);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Gateway stopped listening for {MachineId}")]
    public static partial void ListenerClosed(ILogger logger, string machineId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Gateway accept failed for {MachineId}")]
    public static partial void AcceptFailed(ILogger logger, string machineId, Exception exception);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Debug, Message = "Connection {ConnectionId} to {MachineId} from {Peer} accepted")]
    public static partial void ConnectionAccepted(ILogger logger, long connectionId, string machineId, string peer);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "Connection {ConnectionId} to {MachineId} from {Peer} refused: {Reason} ({Detail})")]
    public static partial void ConnectionRefused(ILogger logger, long connectionId, string machineId, string peer, string reason, string detail);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Information, Message = "Connection {ConnectionId} to {MachineId} logged in: session {SessionId} serial {Serial}")]
    public static partial void ConnectionAuthenticated(ILogger logger, long connectionId, string machineId, string sessionId, ulong serial);

    [LoggerMessage(EventId = 3016, Level = LogLevel.Warning, Message = "Connection {ConnectionId} to {MachineId} cut: sshd's log names two logins, session {FirstSessionId} and then {SecondSessionId} (a forged log line)")]
    public static partial void ConflictingLogin(ILogger logger, long connectionId, string machineId, string firstSessionId, string secondSessionId);

    [LoggerMessage(EventId = 3017, Level = LogLevel.Warning, Message = "Connection {ConnectionId} to {MachineId}: sshd logged a login inside a record with line breaks (client-chosen text forging a log line); not taken")]
    public static partial void ForgedLogin(ILogger logger, long connectionId, string machineId);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Information, Message = "Connection {ConnectionId} to {MachineId} ended: {End}, {BytesFromClient} bytes in, {BytesToClient} bytes out, {DurationMs} ms")]
    public static partial void ConnectionEnded(ILogger logger, long connectionId, string machineId, string end, long bytesFromClient, long bytesToClient, long durationMs);

    [LoggerMessage(EventId = 3014, Level = LogLevel.Warning, Message = "Connection {ConnectionId} to {MachineId} failed: {Detail}")]
    public static partial void ConnectionFailed(ILogger logger, long connectionId, string machineId, string detail, Exception? exception);

    [LoggerMessage(EventId = 3015, Level = LogLevel.Debug, Message = "Connection {ConnectionId} sshd: {Line}")]
    public static partial void SshdStderr(ILogger logger, long connectionId, string line);

    [LoggerMessage(EventId = 3020, Level = LogLevel.Information, Message = "Cut {Count} connection(s) of session {SessionId}")]
    public static partial void SessionConnectionsClosed(ILogger logger, string sessionId, int count);

    [LoggerMessage(EventId = 3021, Level = LogLevel.Information, Message = "Cut {Count} connection(s) of machine {MachineId}")]
    public static partial void MachineConnectionsClosed(ILogger logger, string machineId, int count);

    [LoggerMessage(EventId = 3030, Level = LogLevel.Warning, Message = "Gateway backend call {Call} failed for {MachineId}")]
    public static partial void BackendCallFailed(ILogger logger, string call, string machineId, Exception exception);

    [LoggerMessage(EventId = 3040, Level = LogLevel.Information, Message = "Connection {ConnectionId} to {MachineId} from {Peer} dropped: {Detail}")]
    public static partial void PendingConnectionEvicted(ILogger logger, long connectionId, string machineId, string peer, string detail);

    [LoggerMessage(EventId = 3041, Level = LogLevel.Information, Message = "Connection {ConnectionId} to {MachineId} from {Peer} sent no identification line: {Detail}")]
    public static partial void IdentificationTimedOut(ILogger logger, long connectionId, string machineId, string peer, string detail);

    [LoggerMessage(EventId = 3042, Level = LogLevel.Information, Message = "Connection {ConnectionId} to {MachineId} from {Peer} did not authenticate in time: {Detail}")]
    public static partial void AuthenticationTimedOut(ILogger logger, long connectionId, string machineId, string peer, string detail);

    [LoggerMessage(EventId = 3043, Level = LogLevel.Information, Message = "Connection {ConnectionId} to {MachineId} from {Peer} is not an SSH client: {Detail}")]
    public static partial void NotSsh(ILogger logger, long connectionId, string machineId, string peer, string detail);

    [LoggerMessage(EventId = 3045, Level = LogLevel.Warning, Message = "Connection {ConnectionId} to {MachineId} from {Peer} refused: {Detail}")]
    public static partial void ProtocolViolation(ILogger logger, long connectionId, string machineId, string peer, string detail);

    [LoggerMessage(EventId = 3044, Level = LogLevel.Debug, Message = "Connection {ConnectionId} to {MachineId} waits for a handshake slot")]
    public static partial void WaitingForHandshake(ILogger logger, long connectionId, string machineId);
}
