namespace Dedalus.Server.Store;

/// <summary>How many machines an org holds, and their sizes summed.</summary>
public sealed record MachineUsage(long Machines, double Vcpu, long MemoryMib, long StorageGib);
