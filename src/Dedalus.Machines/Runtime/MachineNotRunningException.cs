namespace Dedalus.Machines.Runtime;

/// <summary>The operation (an exec) needs a running machine and this one sleeps: wake it first.</summary>
public sealed class MachineNotRunningException : MachineRuntimeException
{
    public MachineNotRunningException()
    {
    }

    public MachineNotRunningException(string message)
        : base(message)
    {
    }

    /// <summary>For the machine <paramref name="machineId"/>.</summary>
    public MachineNotRunningException(string machineId, Exception? innerException)
        : base(machineId, $"machine {machineId} is not running", innerException)
    {
    }
}
