namespace Dedalus.Server.Store;

/// <summary>How many machines an org has that are not destroyed, and their sizes summed.</summary>
public sealed record MachineUsage(long Machines, double Vcpu, long MemoryMib, long StorageGib);
