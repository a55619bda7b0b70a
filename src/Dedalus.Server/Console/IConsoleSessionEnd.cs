namespace Dedalus.Server.Console;

/// <summary>
/// Something that lives as long as a browser session and must end with it (the terminal's WebSockets). Sign-out calls
/// every registered one after the session's row is gone.
/// </summary>
public interface IConsoleSessionEnd
{
    Task EndAsync(string browserSessionId, CancellationToken cancellationToken);
}
