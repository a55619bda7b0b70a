using System.Runtime.InteropServices;

namespace Dedalus.Cli.Processes;

/// <summary>
/// Catches SIGINT, SIGTERM and SIGHUP for the lifetime of a command: the first one cancels <see cref="Token"/>
/// and is forwarded to the child process (once one runs), so the command can clean up and exit 130/143/129.
/// </summary>
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

    /// <summary>The Linux number of the first signal received, or 0.</summary>
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
            _ = Kill(pid, pending);
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
            _ = Kill(child, number);
        }

        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
