namespace Dedalus.Server;

/// <summary>The browser terminal's log lines (1970-1979): never its keystrokes, its output, or key material.</summary>
internal static partial class ServerLog
{
    [LoggerMessage(EventId = 1970, Level = LogLevel.Information, Message = "Terminal on machine {MachineId} (org {OrgId}) opened SSH session {SessionId}")]
    public static partial void TerminalSessionOpened(ILogger logger, string machineId, string orgId, string sessionId);

    [LoggerMessage(EventId = 1971, Level = LogLevel.Information, Message = "Terminal of SSH session {SessionId} connected to {Endpoint}:{Port} (ssh pid {Pid})")]
    public static partial void TerminalConnected(ILogger logger, string sessionId, string endpoint, long port, int pid);

    [LoggerMessage(EventId = 1972, Level = LogLevel.Information, Message = "Terminal on machine {MachineId} ended ({Code}) after {Duration}: SSH session {SessionId}, ssh exit {SshExit}, {InputBytes} bytes in, {OutputBytes} bytes out")]
    public static partial void TerminalEnded(ILogger logger, string machineId, string code, TimeSpan duration, string? sessionId, int? sshExit, long inputBytes, long outputBytes);

    [LoggerMessage(EventId = 1973, Level = LogLevel.Debug, Message = "Terminal of SSH session {SessionId}: browser frame ignored ({Problem})")]
    public static partial void TerminalFrameIgnored(ILogger logger, string? sessionId, string problem);

    [LoggerMessage(EventId = 1974, Level = LogLevel.Warning, Message = "Terminal: could not close its SSH session {SessionId} on machine {MachineId}; its certificate stays valid until it expires")]
    public static partial void TerminalSessionNotClosed(ILogger logger, string sessionId, string machineId, Exception exception);

    [LoggerMessage(EventId = 1975, Level = LogLevel.Warning, Message = "Terminal refused: Origin {Origin} is not this server's {Expected}")]
    public static partial void TerminalOriginRefused(ILogger logger, string origin, string expected);

    [LoggerMessage(EventId = 1976, Level = LogLevel.Information, Message = "Browser session ended: {Count} terminal(s) closed")]
    public static partial void TerminalsOfBrowserSessionEnded(ILogger logger, int count);

    [LoggerMessage(EventId = 1977, Level = LogLevel.Error, Message = "Terminal on machine {MachineId} failed")]
    public static partial void TerminalFailed(ILogger logger, string machineId, Exception exception);
}
