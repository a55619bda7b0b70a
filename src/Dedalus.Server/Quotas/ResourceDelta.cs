namespace Dedalus.Server.Quotas;

/// <summary>What a request adds to its org's use: a new machine, or a resize (only what grows counts).</summary>
public sealed record ResourceDelta(long Machines, double Vcpu, long MemoryMib, long StorageGib)
{
    /// <summary>The request's amount of <paramref name="quota"/>'s resource.</summary>
    public double Of(Quota quota) => quota switch
    {
        Quota.Machines => Machines,
        Quota.Vcpu => Vcpu,
        Quota.MemoryMib => MemoryMib,
        Quota.StorageGib => StorageGib,
        _ => 0,
    };
}
