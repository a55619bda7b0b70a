namespace Dedalus.Server.Console;

/// <summary>The console's log events (2400-2499). Never a token, a key or a cookie value.</summary>
internal static partial class ConsoleLog
{
    [LoggerMessage(EventId = 2400, Level = LogLevel.Information, Message = "Console: browser session {SessionId} signed in for org {OrgId}")]
    public static partial void SignedIn(ILogger logger, string sessionId, string orgId);

    [LoggerMessage(EventId = 2401, Level = LogLevel.Information, Message = "Console: browser session {SessionId} signed out")]
    public static partial void SignedOut(ILogger logger, string sessionId);

    [LoggerMessage(EventId = 2402, Level = LogLevel.Warning, Message = "Console: a sign-in with an invalid API key from {Peer}")]
    public static partial void SignInRefused(ILogger logger, string peer);
}
