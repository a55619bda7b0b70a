namespace Dedalus.Server.Console.Terminal;

/// <summary>
/// One open terminal as seen from outside: its machine and session, its ssh process, and its output flow
/// (<see cref="BufferedOutputBytes"/> is what the server holds for a slow browser, bounded by
/// <see cref="TerminalLimits.OutputQueueFrames"/> chunks).
/// </summary>
public sealed record TerminalInfo(
    string MachineId,
    string OrgId,
    string? SessionId,
    int? SshProcessId,
    long InputBytes,
    long PtyBytesRead,
    long OutputBytesSent,
    long BufferedOutputBytes);
