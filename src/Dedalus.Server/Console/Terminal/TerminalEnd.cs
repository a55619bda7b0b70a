namespace Dedalus.Server.Console.Terminal;

/// <summary>
/// Why a terminal ended: the <c>code</c> and human <c>reason</c> of its <c>closed</c> frame. The codes are the
/// protocol's: the browser decides on the code, and shows the reason.
/// </summary>
public sealed record TerminalEnd(string Code, string Reason)
{
    /// <summary>The remote shell (or ssh) exited by itself.</summary>
    public const string ExitCode = "exit";

    /// <summary>The terminal's session was deleted (revoked): the gateway cut its connection.</summary>
    public const string RevokedCode = "revoked";

    /// <summary>The terminal's session expired.</summary>
    public const string ExpiredCode = "expired";

    /// <summary>The browser session that opened the terminal signed out.</summary>
    public const string SignedOutCode = "signed_out";

    /// <summary>The server is shutting down.</summary>
    public const string ShutdownCode = "shutdown";

    /// <summary>Anything else: the session failed, ssh could not connect, the browser sent garbage.</summary>
    public const string ErrorCode = "error";

    public static TerminalEnd Error(string reason) => new(ErrorCode, reason);
}
