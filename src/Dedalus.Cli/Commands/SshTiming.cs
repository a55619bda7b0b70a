using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Dedalus.Cli.Commands;

/// <summary>
/// The phases of one <c>dedalus ssh</c>, for <c>--timing</c>: ours are marked as they end; ssh's own (TCP connect,
/// server banner, key exchange, authentication) are read from the <c>ssh -v</c> debug lines as they arrive on its
/// stderr (<see cref="ObserveSshLine"/>), each stamped with the time the line was read. Every mark is the elapsed time
/// since the process's clock started, so a phase is the difference between two marks.
/// </summary>
internal sealed class SshTiming
{
    private readonly Stopwatch _clock;
    private readonly Lock _lock = new();
    private readonly Dictionary<Mark, TimeSpan> _marks = [];

    public SshTiming(Stopwatch clock)
    {
        _clock = clock;
    }

    /// <summary>The points in time, in the order they happen.</summary>
    public enum Mark
    {
        KeyGenerated,
        SessionCreated,
        SessionReady,
        FilesWritten,
        SshStarted,
        TcpConnected,
        ServerBanner,
        KeyExchangeDone,
        Authenticated,
        FirstByte,
        SshExited,
        SessionClosed,
    }

    /// <summary>How the session was closed: <c>sync</c> (waited for), <c>detached</c> (handed to a child), <c>kept</c>.</summary>
    public string CloseMode { get; set; } = "sync";

    public void Set(Mark mark) => Set(mark, _clock.Elapsed);

    /// <summary>Sets <paramref name="mark"/> unless it is already set (the first occurrence counts).</summary>
    public void Set(Mark mark, TimeSpan at)
    {
        lock (_lock)
        {
            _marks.TryAdd(mark, at);
        }
    }

    public TimeSpan? Get(Mark mark)
    {
        lock (_lock)
        {
            return _marks.TryGetValue(mark, out var at) ? at : null;
        }
    }

    /// <summary>
    /// Records the mark an <c>ssh -v</c> line stands for, if any; returns whether the line is verbose output that only
    /// <c>-v</c> made ssh print (so it is not shown unless the user asked for <c>-v</c>).
    /// </summary>
    public bool ObserveSshLine(string line)
    {
        if (SshLineMark(line) is { } mark)
        {
            Set(mark);
        }

        return IsVerboseLine(line);
    }

    /// <summary>The mark an <c>ssh -v</c> (OpenSSH 8-9) line stands for.</summary>
    internal static Mark? SshLineMark(string line) => line switch
    {
        _ when line.StartsWith("debug1: Connection established", StringComparison.Ordinal) => Mark.TcpConnected,
        _ when line.StartsWith("debug1: Remote protocol version", StringComparison.Ordinal) => Mark.ServerBanner,
        _ when line.StartsWith("debug1: SSH2_MSG_NEWKEYS received", StringComparison.Ordinal) => Mark.KeyExchangeDone,
        _ when line.StartsWith("Authenticated to ", StringComparison.Ordinal) => Mark.Authenticated,
        _ => null,
    };

    /// <summary>Lines that <c>-v</c> adds: debug lines, the version banner, the login and transfer summaries.</summary>
    internal static bool IsVerboseLine(string line) =>
        line.StartsWith("debug", StringComparison.Ordinal)
        || line.StartsWith("OpenSSH_", StringComparison.Ordinal)
        || line.StartsWith("Authenticated to ", StringComparison.Ordinal)
        || line.StartsWith("Transferred: ", StringComparison.Ordinal)
        || line.StartsWith("Bytes per second: ", StringComparison.Ordinal);

    /// <summary>
    /// One line: <c>timing: key 1 ms, create 12 ms, wake 0 ms, files 1 ms, ssh start 2 ms, tcp 1 ms, banner 40 ms,
    /// kex 150 ms, auth 60 ms, first byte 10 ms, exit 5 ms, close 12 ms (sync), total 300 ms</c>. A phase whose end was
    /// not seen is <c>-</c>; each phase runs from the previous mark that was seen.
    /// </summary>
    public string Format(TimeSpan total)
    {
        var phases = new (string Name, Mark End)[]
        {
            ("key", Mark.KeyGenerated),
            ("create", Mark.SessionCreated),
            ("wake", Mark.SessionReady),
            ("files", Mark.FilesWritten),
            ("ssh start", Mark.SshStarted),
            ("tcp", Mark.TcpConnected),
            ("banner", Mark.ServerBanner),
            ("kex", Mark.KeyExchangeDone),
            ("auth", Mark.Authenticated),
            ("first byte", Mark.FirstByte),
            ("exit", Mark.SshExited),
            ("close", Mark.SessionClosed),
        };
        var builder = new StringBuilder("timing:");
        var previous = TimeSpan.Zero;
        foreach (var (name, end) in phases)
        {
            builder.Append(' ').Append(name).Append(' ');
            if (Get(end) is { } at)
            {
                builder.Append(Ms(at - previous)).Append(" ms");
                previous = at;
            }
            else
            {
                builder.Append('-');
            }

            if (end == Mark.SessionClosed)
            {
                builder.Append(" (").Append(CloseMode).Append(')');
            }

            builder.Append(',');
        }

        return builder.Append(" total ").Append(Ms(total)).Append(" ms").ToString();
    }

    private static string Ms(TimeSpan span) => Math.Max(0, (long)Math.Round(span.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture);
}
