namespace Dedalus.Machines.Runtime;

/// <summary>How a process ended: an exit code, or the signal that killed it (exactly one is set).</summary>
/// <param name="ExitCode">The code passed to exit, when the process exited.</param>
/// <param name="Signal">The signal number, when a signal ended it.</param>
public readonly record struct MachineExitStatus(int? ExitCode, int? Signal)
{
    public static MachineExitStatus Exit(int code) => new(code, null);

    public static MachineExitStatus Killed(int signal) => new(null, signal);

    /// <summary>From a wait status (<c>waitpid</c>'s encoding): low 7 bits the signal, else the exit code in bits 8-15.</summary>
    public static MachineExitStatus FromWaitStatus(int status) =>
        (status & 0x7f) == 0 ? Exit((status >> 8) & 0xff) : Killed(status & 0x7f);

    public override string ToString() => Signal is { } signal ? $"signal {signal}" : $"exit {ExitCode}";
}
