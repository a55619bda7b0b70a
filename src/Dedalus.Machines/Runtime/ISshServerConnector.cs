namespace Dedalus.Machines.Runtime;

/// <summary>
/// The one capability the gateway needs of a machine engine: a fresh connection to the SSH server of a running
/// machine. The engine decides how (the runc engine starts <c>sshd -i</c> inside the machine per connection); the
/// gateway only pipes bytes and reads the server's log lines, in which sshd names the session that logged in.
/// </summary>
public interface ISshServerConnector
{
    /// <summary>
    /// Connects to the SSH server of <paramref name="machineId"/>: <see cref="IMachineProcess.StandardInput"/> carries
    /// the client's bytes to it, <see cref="IMachineProcess.StandardOutput"/> its bytes back, and
    /// <see cref="IMachineProcess.StandardError"/> its log lines (LogLevel INFO).
    /// </summary>
    /// <exception cref="MachineNotRunningException">The machine sleeps: wake it first.</exception>
    /// <exception cref="MachineNotFoundException">The engine holds no such machine.</exception>
    Task<IMachineProcess> ConnectAsync(string machineId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Readies what connections to a machine that just started need (the listening connector starts the machine's
    /// sshd), so that the first connection does not wait for it. Never throws; a failure shows at the next connection.
    /// </summary>
    Task PrepareAsync(string machineId, CancellationToken cancellationToken = default) => Task.CompletedTask;
}
