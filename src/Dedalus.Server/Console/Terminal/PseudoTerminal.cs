using System.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace Dedalus.Server.Console.Terminal;

/// <summary>
/// A Linux pseudo-terminal with one child process on it: the child has the slave as stdin, stdout, stderr and
/// controlling terminal (in a session of its own), the server reads and writes the master. A program that sees a tty
/// behaves as on a real terminal: <c>ssh</c> asks the machine for a PTY and puts this one in raw mode, so Ctrl-C
/// (0x03) travels as a byte to the remote shell instead of killing ssh.
/// </summary>
/// <remarks>
/// .NET's <see cref="Process"/> cannot hand a descriptor to a child, so the child opens the slave by path: a
/// <c>/bin/sh</c> wrapper redirects its stdio to the slave and execs util-linux <c>setsid --ctty</c>, which starts a
/// new session and makes the slave (its stdin) the controlling terminal, then execs the program. The server's own
/// slave descriptor stays open until the child is gone: reading the master before the child opened the slave, or
/// while it runs, then never sees a premature end (EIO comes only once every holder of the slave has closed it).
/// Every descriptor is close-on-exec, so no other child inherits the terminal.
/// </remarks>
public sealed partial class PseudoTerminal : IDisposable
{
    private readonly SafeFileHandle _master;
    private SafeFileHandle? _slave;
    private Process? _child;
    private int _disposed;

    private PseudoTerminal(SafeFileHandle master, SafeFileHandle slave, string slavePath)
    {
        _master = master;
        _slave = slave;
        SlavePath = slavePath;

        // Unbuffered: a keystroke goes to the line discipline at once, and output arrives as the child writes it.
        Master = new FileStream(master, FileAccess.ReadWrite, bufferSize: 0);
    }

    /// <summary>The slave's path (<c>/dev/pts/N</c>).</summary>
    public string SlavePath { get; }

    /// <summary>
    /// The master side: what the child writes is read here, what is written here is the child's input. A read blocks
    /// until output arrives and ends (0 or <see cref="IOException"/>) once the child and the server's slave are closed.
    /// </summary>
    public Stream Master { get; }

    /// <summary>The child, once <see cref="Start"/> ran.</summary>
    public Process? Child => _child;

    /// <summary>Opens a new pseudo-terminal of <paramref name="columns"/> x <paramref name="rows"/>.</summary>
    /// <exception cref="IOException">The system has no pseudo-terminal to give.</exception>
    public static PseudoTerminal Open(int columns, int rows)
    {
        var masterFd = Native.PosixOpenpt(Native.ORdWr | Native.ONoCtty | Native.OCloExec);
        if (masterFd < 0)
        {
            throw Native.Failure("posix_openpt");
        }

        var master = new SafeFileHandle(masterFd, ownsHandle: true);
        try
        {
            if (Native.Grantpt(masterFd) != 0)
            {
                throw Native.Failure("grantpt");
            }

            if (Native.Unlockpt(masterFd) != 0)
            {
                throw Native.Failure("unlockpt");
            }

            var path = Native.PtsName(masterFd);
            var slaveFd = Native.Open(path, Native.ORdWr | Native.ONoCtty | Native.OCloExec);
            if (slaveFd < 0)
            {
                throw Native.Failure("open " + path);
            }

            var terminal = new PseudoTerminal(master, new SafeFileHandle(slaveFd, ownsHandle: true), path);
            terminal.Resize(columns, rows);
            return terminal;
        }
        catch
        {
            master.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts <paramref name="program"/> on the terminal, as the leader of a new session whose controlling terminal
    /// is the slave. <paramref name="environment"/> entries are set (a null value removes the variable).
    /// </summary>
    /// <exception cref="InvalidOperationException">A child was started already.</exception>
    public Process Start(string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(environment);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_child is not null)
        {
            throw new InvalidOperationException("the terminal has a child already");
        }

        // $0 is the slave's path (not an environment variable, which the program would inherit). The shell is not a
        // session leader, so opening the slave does not make it its controlling terminal: setsid -c does, after setsid().
        // The .NET child is never a process group leader, so setsid does not fork: the pid we hold is the program's.
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec setsid --ctty \"$@\" <\"$0\" >\"$0\" 2>&1");
        start.ArgumentList.Add(SlavePath);
        start.ArgumentList.Add(program);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        _child = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        return _child;
    }

    /// <summary>
    /// Sets the window size (<c>TIOCSWINSZ</c> on the master); the kernel signals the child's foreground process group
    /// with SIGWINCH, and ssh forwards the new size to the machine.
    /// </summary>
    public void Resize(int columns, int rows)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(columns, ushort.MaxValue);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rows, ushort.MaxValue);
        var size = new Native.WindowSize { Rows = (ushort)rows, Columns = (ushort)columns };
        if (Native.IoctlWindowSize(_master, Native.TiocSWinSz, ref size) != 0)
        {
            throw Native.Failure("ioctl(TIOCSWINSZ)");
        }
    }

    /// <summary>
    /// Whether the terminal is in raw mode (no canonical line editing): ssh switches to it once its session channel
    /// is open, so this tells that the connection is up, without reading anything from the output.
    /// </summary>
    public bool IsRaw
    {
        get
        {
            Span<byte> termios = stackalloc byte[Native.TermiosSize];
            return Native.Tcgetattr(_master, termios) == 0
                && (System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(termios[Native.TermiosLocalFlagsOffset..]) & Native.ICanon) == 0;
        }
    }

    /// <summary>
    /// Kills the child's whole session with SIGKILL: its process group (ssh and what it started), then any process of
    /// the session in another group (a shell's background job). Safe after the child ended: a process group or session
    /// id is never reused while it has a member.
    /// </summary>
    public void Kill()
    {
        if (_child is not { } child)
        {
            return;
        }

        _ = Native.Kill(-child.Id, Native.SigKill);
        foreach (var pid in SessionMembers(child.Id))
        {
            _ = Native.Kill(pid, Native.SigKill);
        }
    }

    /// <summary>The processes of session <paramref name="sessionId"/>, from /proc/PID/stat (field 6).</summary>
    internal static List<int> SessionMembers(int sessionId)
    {
        var members = new List<int>();
        var wanted = sessionId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            try
            {
                // "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses, so split after the last ')'.
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields.Length > 3 && fields[3] == wanted)
                {
                    members.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // It ended meanwhile, or is not ours to read.
            }
        }

        return members;
    }

    /// <summary>
    /// Closes the server's slave descriptor, once the child has exited: a reader of <see cref="Master"/> then gets
    /// what is still buffered, then the end.
    /// </summary>
    public void CloseSlave() => Interlocked.Exchange(ref _slave, null)?.Dispose();

    /// <summary>Kills the child's group, reaps it, and closes both sides.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Kill();
        if (_child is { } child)
        {
            // SIGKILL cannot be ignored: the wait is short. Reaping here leaves no zombie.
            child.WaitForExit(TimeSpan.FromSeconds(10));
            child.Dispose();
        }

        CloseSlave();
        Master.Dispose();
        _master.Dispose();
    }
}
