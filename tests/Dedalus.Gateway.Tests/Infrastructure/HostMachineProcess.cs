using Dedalus.Machines.Runtime;

namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>A host process (a test's <c>sshd -i</c>) behind the <see cref="IMachineProcess"/> contract.</summary>
public sealed class HostMachineProcess(TestProcess process) : IMachineProcess
{
    public Stream StandardInput => process.StandardInput.BaseStream;

    public Stream StandardOutput => process.StandardOutput.BaseStream;

    public Stream StandardError => process.StandardError.BaseStream;

    public Task<int> Exited => process.Exited;

    /// <summary>Puts sshd's stderr pipe in packet mode, as the runc runtime does for its sshd (<see cref="MachineExecRequest.PacketStderr"/>).</summary>
    public HostMachineProcess WithPacketStderr()
    {
        Dedalus.Machines.Ssh.PacketPipe.MakePacketized(process.Id, 2, ((System.IO.Pipes.PipeStream)StandardError).SafePipeHandle);
        return this;
    }

    /// <summary>Kills sshd and every descendant (the session's shell and commands).</summary>
    public void Kill() => process.Kill();

    public ValueTask DisposeAsync() => process.DisposeAsync();
}
