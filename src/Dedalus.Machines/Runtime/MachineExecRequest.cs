namespace Dedalus.Machines.Runtime;

/// <summary>A process to start inside a machine.</summary>
/// <param name="Arguments">argv; no shell.</param>
/// <param name="User">User to run as (<c>root</c> by default).</param>
public sealed record MachineExecRequest(IReadOnlyList<string> Arguments, string User = "root")
{
    /// <summary>
    /// Puts the process's stderr pipe in packet mode (<see cref="Ssh.PacketPipe"/>) before the exec returns, so that
    /// every write the process makes to it is one record for the reader (sshd's log: <see cref="Ssh.SshdLogReader"/>).
    /// When the mode cannot be set the exec fails: the process is killed and nothing is returned. Meant for long-lived
    /// processes (sshd): one that ends before its pipe is reached (runc's pid file read) fails the exec.
    /// </summary>
    public bool PacketStderr { get; init; }
}
