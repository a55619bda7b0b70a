using Dedalus.Machines.Runtime;

namespace Dedalus.Machines.Runc;

/// <summary>What the runtime keeps of a machine on disk (<c>machine.json</c>); its presence marks a complete creation.</summary>
internal sealed record MachineManifest(string MachineId, double Vcpu, long MemoryMib, long StorageGib)
{
    public MachineResources Resources => new(Vcpu, MemoryMib, StorageGib);

    public static MachineManifest From(string machineId, MachineResources resources) =>
        new(machineId, resources.Vcpu, resources.MemoryMib, resources.StorageGib);
}
