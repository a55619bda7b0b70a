namespace Dedalus.Machines.Runtime;

/// <summary>
/// A command running in a machine as an execution: its standard streams, how it ended, and its whole process tree (every
/// process it started, daemonized or not) as one group to signal and to end.
/// </summary>
public interface IMachineExecution : IAsyncDisposable
{
    /// <summary>Write side of the command's stdin; dispose to close it.</summary>
    Stream StandardInput { get; }

    /// <summary>The command's stdout (shared with every process it started that kept it).</summary>
    Stream StandardOutput { get; }

    /// <summary>The command's stderr, likewise.</summary>
    Stream StandardError { get; }

    /// <summary>Completes when the command's own process ends, with its exit code or signal.</summary>
    Task<MachineExitStatus> Exited { get; }

    /// <summary>Sends <paramref name="signal"/> to every process of the execution; returns how many it reached.</summary>
    int Signal(int signal);

    /// <summary>Kills every process of the execution at once (SIGKILL to the group) and waits until none is left, at most <paramref name="wait"/>.</summary>
    Task<bool> KillAllAsync(TimeSpan wait, CancellationToken cancellationToken = default);

    /// <summary>Waits until no process of the execution is left, at most <paramref name="wait"/>; true when none is.</summary>
    Task<bool> WaitUntilEmptyAsync(TimeSpan wait, CancellationToken cancellationToken = default);

    /// <summary>
    /// After the command ended by itself: processes it left behind keep running as the machine's own (like those a
    /// logged-out SSH session leaves), and the execution's group is removed.
    /// </summary>
    Task ReleaseAsync(CancellationToken cancellationToken = default);
}
