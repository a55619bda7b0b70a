using System.Net;
using Dedalus.Machines.Runtime;

namespace Dedalus.Machines.Runc;

/// <summary>
/// What the runtime keeps of a machine on disk (<c>machine.json</c>); its presence marks a complete creation.
/// <see cref="MemoryMib"/> is the memory limit the next start applies: the last of a resize's and a memory policy's
/// (autoresizing raises it). The memory fields after it came later: a record without them reads as OOM-killing at the limit.
/// <see cref="Network"/>: the machine's address and egress policy; null (as in records older than it): loopback only.
/// <see cref="UidBase"/>: the host uid root inside maps to, the first of the machine's own range; null (records older
/// than per-machine ranges): the shared range, <see cref="RuncRuntimeOptions.SharedUidBase"/>.
/// </summary>
internal sealed record MachineManifest(
    string MachineId,
    double Vcpu,
    long MemoryMib,
    long StorageGib,
    bool MemoryHoldAtLimit = false,
    long? MemoryCeilingMib = null,
    MachineNetworkRecord? Network = null,
    int? UidBase = null)
{
    public MachineResources Resources => new(Vcpu, MemoryMib, StorageGib);

    public MachineMemoryPolicy MemoryPolicy => new(MemoryMib, MemoryHoldAtLimit, MemoryCeilingMib);

    /// <summary>cgroup v2's <c>memory.max</c> while holding: the ceiling, never below the limit.</summary>
    public long MemoryHardLimitMib => Math.Max(MemoryCeilingMib ?? MemoryMib, MemoryMib);

    public static MachineManifest From(string machineId, MachineResources resources) =>
        new(machineId, resources.Vcpu, resources.MemoryMib, resources.StorageGib);
}

/// <summary>A machine's network as <c>machine.json</c> keeps it: the address, egress <c>open</c> or <c>none</c>, the CIDR lists.</summary>
internal sealed record MachineNetworkRecord(string Address, string Egress, IReadOnlyList<string> AllowCidrs, IReadOnlyList<string> DenyCidrs)
{
    public MachineNetwork ToNetwork() => new(
        IPAddress.Parse(Address),
        new MachineNetworkPolicy(
            Egress == "none" ? MachineEgress.None : MachineEgress.Open,
            [.. AllowCidrs.Select(c => IPNetwork.Parse(c))],
            [.. DenyCidrs.Select(c => IPNetwork.Parse(c))]));

    public static MachineNetworkRecord From(MachineNetwork network) => new(
        network.Address.ToString(),
        network.Policy.Egress == MachineEgress.None ? "none" : "open",
        [.. network.Policy.AllowCidrs.Select(c => c.ToString())],
        [.. network.Policy.DenyCidrs.Select(c => c.ToString())]);
}
