using Dedalus.Machines.Runtime;

namespace Dedalus.Machines.Runc;

/// <summary>
/// What the runtime keeps of a machine on disk (<c>machine.json</c>); its presence marks a complete creation.
/// <see cref="MemoryMib"/> is the memory limit the next start applies: the last of a resize's and a memory policy's
/// (autoresizing raises it). The memory fields after it came later: a record without them reads as OOM-killing at the limit.
/// </summary>
internal sealed record MachineManifest(
    string MachineId, double Vcpu, long MemoryMib, long StorageGib, bool MemoryHoldAtLimit = false, long? MemoryCeilingMib = null)
{
    public MachineResources Resources => new(Vcpu, MemoryMib, StorageGib);

    public MachineMemoryPolicy MemoryPolicy => new(MemoryMib, MemoryHoldAtLimit, MemoryCeilingMib);

    /// <summary>cgroup v2's <c>memory.max</c> while holding: the ceiling, never below the limit.</summary>
    public long MemoryHardLimitMib => Math.Max(MemoryCeilingMib ?? MemoryMib, MemoryMib);

    public static MachineManifest From(string machineId, MachineResources resources) =>
        new(machineId, resources.Vcpu, resources.MemoryMib, resources.StorageGib);
}
