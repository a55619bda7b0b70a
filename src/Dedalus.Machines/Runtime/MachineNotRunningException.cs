namespace Dedalus.Machines.Runtime;

/// <summary>The operation (a connection, an exec) needs a running machine and this one sleeps: wake it first.</summary>
public sealed class MachineNotRunningException(string machineId, Exception? innerException = null)
    : MachineRuntimeException(machineId, $"machine {machineId} is not running", innerException);
