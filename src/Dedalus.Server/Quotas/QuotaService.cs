using System.Globalization;
using Dedalus.Server.Errors;
using Dedalus.Server.Hosting;
using Dedalus.Server.Store;

namespace Dedalus.Server.Quotas;

/// <summary>
/// Decides whether an org may take more: a machine, a resize, an SSH session. Each decision is an admission check that
/// the store runs inside the write's own transaction (<see cref="IResourceReader"/>): the org's overrides and use are
/// read there, so a change made with <c>dedalus-server quota set</c> applies to the next request, and concurrent
/// requests cannot both pass a limit. A refusal throws a <see cref="DomainException"/> that names the quota, its limit,
/// the use and the request; nothing is written.
/// </summary>
public sealed class QuotaService(ServerOptions options, IHostResources host, Cluster.LocalNode local, TimeProvider timeProvider, ILogger<QuotaService> logger)
{
    private static readonly Quota[] MachineQuotas = [Quota.Machines, Quota.Vcpu, Quota.MemoryMib, Quota.StorageGib];

    /// <summary>How long a client may wait for machines being destroyed to release what they hold.</summary>
    private static readonly TimeSpan ReleaseWait = TimeSpan.FromSeconds(1);

    /// <summary>The retry hint when live executions hold a limit (they end by themselves).</summary>
    private static readonly TimeSpan ExecutionRetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>The defaults this server applies.</summary>
    public QuotaSettings Settings { get; } = QuotaSettings.From(options);

    /// <summary>
    /// The check for a new machine of <paramref name="delta"/>'s size, or a resize by it: every machine quota the request
    /// adds to, then (a resize that asks for storage) the storage of the machine's node <paramref name="nodeId"/>: this
    /// host's measured now, another node's as it measured it at its last heartbeat. A new machine's node has no storage
    /// check here: placement chooses a node that can back it (<see cref="Cluster.MachinePlacer"/>).
    /// </summary>
    public Action<IResourceReader> AdmitMachine(string orgId, ResourceDelta delta, string? nodeId = null)
    {
        // Measured before the write lock is taken: statvfs and the images' sizes are not the store's to wait for.
        var measured = delta.StorageGib > 0 ? host.MeasureStorage() : null;
        return reader =>
        {
            var quotas = AppliedQuota.For(Settings, reader.QuotaOverrides(orgId));
            var machines = reader.Machines(orgId);
            foreach (var quota in MachineQuotas)
            {
                var asked = delta.Of(quota);
                var applied = quotas[(int)quota];
                var used = Used(machines.Held, quota);
                if (asked <= 0 || applied.Resolve(Settings, host, measured) is not { } limit || used + asked <= limit)
                {
                    continue;
                }

                // Machines being destroyed release their share shortly: when that is enough, the refusal is for now.
                var releasing = Used(machines.Releasing, quota);
                throw used - releasing + asked <= limit
                    ? Refuse(orgId, applied.Info, limit, used, asked, ReleaseWait,
                        $"{AppliedQuota.Format(releasing)} of that is held by machines being destroyed: retry once they are gone")
                    : Refuse(orgId, applied.Info, limit, used, asked, retryAfter: null, applied.Info.Remedy);
            }

            if (measured is not null && nodeId is not null)
            {
                var committed = reader.CommittedStorageGib(nodeId);
                var remote = local.Owns(nodeId) ? null : reader.NodeLoads().FirstOrDefault(l => l.Node.Id == nodeId)?.Node;
                var capacity = remote?.StorageGib ?? measured.BackedGib;
                var explain = remote is null ? measured.Explain() : $"as node {remote.Name} measured at {remote.HeartbeatAt:O}";
                if (committed + delta.StorageGib > capacity)
                {
                    ServerLog.StorageRefused(logger, orgId, delta.StorageGib, committed, capacity, explain);
                    throw DomainException.InsufficientStorage(delta.StorageGib, committed, capacity,
                        $"the host cannot back {delta.StorageGib} GiB more storage: {committed} of the {capacity} GiB it can back are committed to machines " +
                        $"({explain}); ask for less storage_gib, or ask the operator to free disk space or raise the storage overcommit");
                }
            }
        };
    }

    /// <summary>The check for changing <paramref name="current"/> into <paramref name="next"/>; null when nothing grows.</summary>
    public Action<IResourceReader>? AdmitResize(MachineRecord current, MachineRecord next)
    {
        var delta = new ResourceDelta(
            0, Math.Max(0, next.Vcpu - current.Vcpu), Math.Max(0, next.MemoryMib - current.MemoryMib), Math.Max(0, next.StorageGib - current.StorageGib));
        return delta is { Vcpu: 0, MemoryMib: 0, StorageGib: 0 } ? null : AdmitMachine(current.OrgId, delta, current.NodeId ?? local.Id);
    }

    /// <summary>
    /// <see cref="AdmitSession"/>, or null when the org's session quota is unlimited (the default is, and the org has no
    /// limit of its own): there is nothing to count, and the store inserts without serialising the org's creates. The
    /// org's overrides are read only when the default is unlimited; a limit set meanwhile applies from the next create.
    /// </summary>
    public async Task<Action<IResourceReader>?> SessionAdmissionAsync(IStore store, string orgId, CancellationToken cancellationToken = default)
    {
        if (AppliedQuota.For(Settings, Empty)[(int)Quota.Sessions].Resolve(Settings, host, null) is not null)
        {
            return AdmitSession(orgId);
        }

        var overrides = await store.GetQuotaOverridesAsync(orgId, cancellationToken).ConfigureAwait(false);
        return AppliedQuota.For(Settings, overrides)[(int)Quota.Sessions].Resolve(Settings, host, null) is null ? null : AdmitSession(orgId);
    }

    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();

    /// <summary>
    /// The check for a new live SSH session. Live sessions end by themselves (close, expiry): when the org has one, the
    /// refusal says when the first expires (429 <c>retry_after_ms</c>).
    /// </summary>
    public Action<IResourceReader> AdmitSession(string orgId) => reader =>
    {
        var applied = AppliedQuota.For(Settings, reader.QuotaOverrides(orgId))[(int)Quota.Sessions];
        if (applied.Resolve(Settings, host, null) is not { } limit)
        {
            return;
        }

        var now = timeProvider.GetUtcNow();
        var used = reader.LiveSessions(orgId, now);
        if (used + 1 <= limit)
        {
            return;
        }

        if (reader.NextSessionExpiry(orgId, now) is { } next)
        {
            var wait = next - now;
            var seconds = Math.Ceiling(wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            throw Refuse(orgId, applied.Info, limit, used, 1, wait,
                $"close one (DELETE /v1/machines/{{machine_id}}/ssh/{{session_id}}) or wait until one expires (the next in {seconds} s)");
        }

        throw Refuse(orgId, applied.Info, limit, used, 1, retryAfter: null, "the org may have none");
    };

    /// <summary>
    /// The check for a new execution on <paramref name="machineId"/>: the machine runs at most <paramref name="perMachine"/>
    /// at once, and the org's live executions stay within its quota. Both end by themselves: the refusal is a 429 for now.
    /// </summary>
    public Action<IResourceReader> AdmitExecution(string orgId, string machineId, int perMachine) => reader =>
    {
        var onMachine = reader.MachineLiveExecutions(machineId);
        if (onMachine >= perMachine)
        {
            throw new DomainException(
                ErrorKind.Busy,
                $"machine {machineId} already runs {onMachine} executions, the most one machine runs at once ({perMachine}); wait for one to finish or cancel one",
                new Dictionary<string, string> { ["limit"] = perMachine.ToString(CultureInfo.InvariantCulture), ["running"] = onMachine.ToString(CultureInfo.InvariantCulture) },
                ExecutionRetryAfter);
        }

        var applied = AppliedQuota.For(Settings, reader.QuotaOverrides(orgId))[(int)Quota.Executions];
        if (applied.Resolve(Settings, host, null) is { } limit && reader.LiveExecutions(orgId) is var used && used + 1 > limit)
        {
            throw Refuse(orgId, applied.Info, limit, used, 1, limit > 0 ? ExecutionRetryAfter : null, limit > 0 ? applied.Info.Remedy : "the org may have none");
        }
    };

    private DomainException Refuse(string orgId, QuotaInfo quota, double limit, double used, double asked, TimeSpan? retryAfter, string remedy)
    {
        var (limitText, usedText, askedText) = (AppliedQuota.Format(limit), AppliedQuota.Format(used), AppliedQuota.Format(asked));
        ServerLog.QuotaRefused(logger, orgId, quota.Name, usedText, limitText, askedText);
        var inUse = quota.Quota is Quota.Sessions or Quota.Executions ? "live" : "in use";
        return DomainException.QuotaExceeded(quota.Name, limitText, usedText, askedText,
            $"org quota exceeded: {quota.Name} {usedText} of {limitText} {inUse}, {askedText} more asked; {remedy}, or ask the operator to raise the quota",
            retryAfter);
    }

    private static double Used(MachineUsage usage, Quota quota) => quota switch
    {
        Quota.Machines => usage.Machines,
        Quota.Vcpu => usage.Vcpu,
        Quota.MemoryMib => usage.MemoryMib,
        _ => usage.StorageGib,
    };
}
