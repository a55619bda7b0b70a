using Dedalus.Machines.Runtime;

namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>A host process (a test's <c>sshd -i</c>) behind the <see cref="IMachineProcess"/> contract.</summary>
public sealed class HostMachineProcess(TestProcess process) : IMachineProcess
{
    public Stream StandardInput => process.StandardInput.BaseStream;

    public Stream StandardOutput => process.StandardOutput.BaseStream;

    public Stream StandardError => process.StandardError.BaseStream;

    public Task<int> Exited => process.Exited;

    /// <summary>Kills sshd and every descendant (the session's shell and commands).</summary>
    public void Kill() => process.Kill();

    public ValueTask DisposeAsync() => process.DisposeAsync();
}
