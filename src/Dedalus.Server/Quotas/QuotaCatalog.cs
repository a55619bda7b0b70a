namespace Dedalus.Server.Quotas;

/// <summary>
/// Every quota with its names, step, what a percentage of it means and its built-in default. The defaults keep one org
/// from taking what the others need: a tenth of the gateway ports (one per machine: with the default range of 1000
/// ports, 100 machines), four times the host's CPUs and twice its memory (limits, not reservations, and sleeping machines
/// count too: an org may have more machines than run at once, while the scheduler shares CPUs and the kernel memory
/// between the machines that do run; a tighter cap is one `quota set` away), half of the
/// storage the host can back (a reservation: committed storage is refused beyond what the disk can hold), 1000 live
/// SSH sessions (ten on each of 100 machines), and 100 live executions (each machine also runs at most
/// <c>ExecutionsPerMachine</c> at once).
/// </summary>
public static class QuotaCatalog
{
    public static readonly QuotaInfo Machines = new(
        Quota.Machines, "machines", "QuotaMachines", 1, HostResource.GatewayPorts, QuotaLimit.PercentOf(10), "destroy a machine");

    public static readonly QuotaInfo Vcpu = new(
        Quota.Vcpu, "vcpu", "QuotaVcpu", 0.25, HostResource.Cpus, QuotaLimit.PercentOf(400), "destroy a machine or lower another machine's vcpu");

    public static readonly QuotaInfo MemoryMib = new(
        Quota.MemoryMib, "memory_mib", "QuotaMemoryMib", 1, HostResource.MemoryMib, QuotaLimit.PercentOf(200), "destroy a machine or lower another machine's memory_mib");

    public static readonly QuotaInfo StorageGib = new(
        Quota.StorageGib, "storage_gib", "QuotaStorageGib", 1, HostResource.StorageGib, QuotaLimit.PercentOf(50), "destroy a machine (storage only grows)");

    public static readonly QuotaInfo Sessions = new(
        Quota.Sessions, "sessions", "QuotaSessions", 1, null, QuotaLimit.Of(1000), "close a session or wait until one expires");

    public static readonly QuotaInfo Executions = new(
        Quota.Executions, "executions", "QuotaExecutions", 1, null, QuotaLimit.Of(100), "wait for one to finish or cancel one (DELETE .../executions/{execution_id})");

    /// <summary>Every quota, in <see cref="Quota"/> order.</summary>
    public static readonly IReadOnlyList<QuotaInfo> All = [Machines, Vcpu, MemoryMib, StorageGib, Sessions, Executions];

    public static QuotaInfo Get(Quota quota) => All[(int)quota];

    /// <summary>The quota named <paramref name="name"/> (<c>memory_mib</c>), or null.</summary>
    public static QuotaInfo? Find(string name) => All.FirstOrDefault(q => string.Equals(q.Name, name, StringComparison.Ordinal));

    /// <summary>What a percentage of <paramref name="resource"/> is a share of, in words.</summary>
    public static string Describe(HostResource resource) => resource switch
    {
        HostResource.GatewayPorts => "the gateway port range",
        HostResource.Cpus => "the host's CPUs",
        HostResource.MemoryMib => "the host's memory",
        _ => "the storage the host can back",
    };
}
