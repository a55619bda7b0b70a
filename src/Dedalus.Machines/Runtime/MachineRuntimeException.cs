namespace Dedalus.Machines.Runtime;

/// <summary>A machine runtime operation failed. <see cref="MachineId"/> names the machine when there is one.</summary>
public class MachineRuntimeException : Exception
{
    public MachineRuntimeException()
    {
    }

    public MachineRuntimeException(string message)
        : base(message)
    {
    }

    public MachineRuntimeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public MachineRuntimeException(string? machineId, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        MachineId = machineId;
    }

    /// <summary>The machine the operation was about, if any.</summary>
    public string? MachineId { get; }
}
