namespace Dedalus.Machines.Runtime;

/// <summary>The runtime holds no machine of that id (never created, or deleted).</summary>
public sealed class MachineNotFoundException : MachineRuntimeException
{
    public MachineNotFoundException()
    {
    }

    public MachineNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>For the machine <paramref name="machineId"/>.</summary>
    public MachineNotFoundException(string machineId, Exception? innerException)
        : base(machineId, $"machine {machineId} does not exist", innerException)
    {
    }
}
