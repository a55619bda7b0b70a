using System.Runtime.InteropServices;

namespace Dedalus.Cli.Processes;

/// <summary>
/// Catches SIGINT, SIGTERM and SIGHUP for the lifetime of a command: the first one cancels <see cref="Token"/>
/// and is forwarded to the child process (once one runs), so the command can clean up and exit 130/143/129.
/// </summary>
/// <remarks>
/// On Windows .NET maps Ctrl+C to SIGINT, closing the console window to SIGHUP, and log-off or shutdown to SIGTERM.
/// Nothing is forwarded there: a console event reaches every process attached to the console, the child ssh.exe
/// included, by itself (and Windows has no kill(2); the child is ended by the caller's grace period instead).
/// </remarks>
internal sealed partial class SignalScope : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly PosixSignalRegistration[] _registrations;
    private readonly Lock _lock = new();
    private int _childPid;
    private int _signalNumber;

    public SignalScope()
    {
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle),
            PosixSignalRegistration.Create(PosixSignal.SIGHUP, Handle),
        ];
    }

    public CancellationToken Token => _cts.Token;

    /// <summary>The POSIX number of the first signal received (SIGHUP 1, SIGINT 2, SIGTERM 15), or 0.</summary>
    public int SignalNumber
    {
        get
        {
            lock (_lock)
            {
                return _signalNumber;
            }
        }
    }

    /// <summary>The exit code that reports the received signal (128 + number).</summary>
    public int ExitCode => 128 + SignalNumber;

    /// <summary>Sets the child that receives forwarded signals; forwards one already received.</summary>
    public void SetChild(int pid)
    {
        int pending;
        lock (_lock)
        {
            _childPid = pid;
            pending = _signalNumber;
        }

        if (pending != 0)
        {
            Forward(pid, pending);
        }
    }

    public void ClearChild()
    {
        lock (_lock)
        {
            _childPid = 0;
        }
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _cts.Dispose();
    }

    private void Handle(PosixSignalContext context)
    {
        context.Cancel = true;
        var number = context.Signal switch
        {
            PosixSignal.SIGHUP => 1,
            PosixSignal.SIGINT => 2,
            _ => 15,
        };
        int child;
        lock (_lock)
        {
            if (_signalNumber == 0)
            {
                _signalNumber = number;
            }

            child = _childPid;
        }

        if (child != 0)
        {
            Forward(child, number);
        }

        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static void Forward(int pid, int signal)
    {
        if (!OperatingSystem.IsWindows())
        {
            _ = Kill(pid, signal);
        }
    }

    /// <summary>kill(2); the numbers used here (1, 2, 15) are the same on Linux and macOS.</summary>
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
