namespace Dedalus.Machines.Runtime;

/// <summary>CPU, memory and storage limits of a machine.</summary>
public sealed record MachineResources(double Vcpu, long MemoryMib, long StorageGib);
