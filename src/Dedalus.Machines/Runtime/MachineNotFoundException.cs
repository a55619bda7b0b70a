namespace Dedalus.Machines.Runtime;

/// <summary>The runtime holds no machine of that id (never created, or deleted).</summary>
public sealed class MachineNotFoundException(string machineId, Exception? innerException = null)
    : MachineRuntimeException(machineId, $"machine {machineId} does not exist", innerException);
