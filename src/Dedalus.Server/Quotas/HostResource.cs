namespace Dedalus.Server.Quotas;

/// <summary>What a percentage quota (<c>10%</c>) is a share of.</summary>
public enum HostResource
{
    /// <summary>The ports of the gateway range: one per machine.</summary>
    GatewayPorts,

    /// <summary>The host's CPUs.</summary>
    Cpus,

    /// <summary>The host's memory, in MiB.</summary>
    MemoryMib,

    /// <summary>The storage the host can back, in GiB (<see cref="StorageCapacity.BackedGib"/>).</summary>
    StorageGib,
}
