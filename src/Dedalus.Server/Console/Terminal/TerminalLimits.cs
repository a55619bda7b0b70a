namespace Dedalus.Server.Console.Terminal;

/// <summary>The bounds of a browser terminal: sizes, frames, buffers and waits (documented in the server README).</summary>
public static class TerminalLimits
{
    /// <summary>Smallest column or row count accepted.</summary>
    public const int MinSize = 1;

    /// <summary>Largest column or row count accepted.</summary>
    public const int MaxSize = 1000;

    /// <summary>
    /// Largest browser frame: a paste of this much is one frame; a longer message ends the terminal (<c>error</c>).
    /// </summary>
    public const int MaxInputFrameBytes = 64 * 1024;

    /// <summary>Largest browser text (control) frame.</summary>
    public const int MaxControlFrameBytes = 1024;

    /// <summary>Frames ignored (unknown control, input before the connection is up) before the terminal ends as garbage.</summary>
    public const int MaxIgnoredFrames = 100;

    /// <summary>One read of the PTY, sent as one binary frame.</summary>
    public const int OutputChunkBytes = 16 * 1024;

    /// <summary>
    /// Output frames read from the PTY and not yet sent: when the browser is slow, the PTY is not read until it
    /// catches up (and ssh, then the machine's writer, wait in turn). At most this many chunks are held in memory.
    /// </summary>
    public const int OutputQueueFrames = 4;

    /// <summary>WebSocket ping interval; the connection is dropped when no pong comes within <see cref="KeepAliveTimeout"/>.</summary>
    public static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(20);

    /// <summary>How long a ping may go unanswered.</summary>
    public static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(60);

    /// <summary>How long the session may take to become ready (a wake included).</summary>
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(5);

    /// <summary>How long ssh may take to connect and log in (<c>ConnectTimeout</c>, and the wait for raw mode).</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(60);

    /// <summary>ssh's <c>ServerAliveInterval</c>: a dead gateway is noticed within three of these.</summary>
    public static readonly TimeSpan ServerAliveInterval = TimeSpan.FromSeconds(15);

    /// <summary>Whether <paramref name="value"/> is a column or row count the terminal accepts.</summary>
    public static bool IsSize(int value) => value is >= MinSize and <= MaxSize;
}
