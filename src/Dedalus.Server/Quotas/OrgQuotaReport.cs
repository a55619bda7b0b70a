using Dedalus.Server.Store;

namespace Dedalus.Server.Quotas;

/// <summary>An org's quotas and use, as <c>dedalus-server quota show</c> and <c>quota list</c> print them.</summary>
public sealed record OrgQuotaReport(OrgRecord Org, IReadOnlyList<QuotaLine> Lines)
{
    /// <summary>Reads <paramref name="org"/>'s overrides and use in one snapshot and resolves its limits on this host.</summary>
    public static Task<OrgQuotaReport> ReadAsync(
        IStore store, QuotaSettings settings, IHostResources host, StorageCapacity storage, OrgRecord org, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        store.ReadResourcesAsync(reader =>
        {
            var applied = AppliedQuota.For(settings, reader.QuotaOverrides(org.Id));
            var machines = reader.Machines(org.Id).Held;
            double[] used = [machines.Machines, machines.Vcpu, machines.MemoryMib, machines.StorageGib, reader.LiveSessions(org.Id, now), reader.LiveExecutions(org.Id)];
            return new OrgQuotaReport(org, [.. applied.Select(q => new QuotaLine(q, q.Resolve(settings, host, storage), used[(int)q.Info.Quota]))]);
        }, cancellationToken);
}
