using Dedalus.Machines.Runtime;

namespace Dedalus.Machines.Ssh;

/// <summary>
/// Reaches a machine's SSH server by starting <c>sshd -i</c> inside it for each connection (<see cref="MachineSshd.InetdArguments"/>,
/// as root, through <see cref="IMachineRuntime.ExecAsync"/>): nothing listens inside a machine, and a sleeping machine has no process.
/// sshd's stderr is a pipe in packet mode (<see cref="MachineExecRequest.PacketStderr"/>), read as records (<see cref="SshdLogReader"/>).
/// </summary>
public sealed class InetdSshServerConnector(IMachineRuntime runtime) : ISshServerConnector
{
    private static readonly MachineExecRequest SshdRequest = new(MachineSshd.InetdArguments, "root") { PacketStderr = true };

    public Task<IMachineProcess> ConnectAsync(string machineId, CancellationToken cancellationToken = default) =>
        runtime.ExecAsync(machineId, SshdRequest, cancellationToken);
}
