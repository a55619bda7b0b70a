namespace Dedalus.Server.Store;

/// <summary>
/// Reads of an org's quota overrides and resource use. Given to an admission check inside a write's transaction, it
/// reads under the store's write lock, so nothing it reads can change before the write commits: two concurrent
/// creates cannot both pass a limit.
/// </summary>
public interface IResourceReader
{
    /// <summary>The org's quota overrides: quota name (<c>machines</c>) to limit text (<c>5</c>, <c>25%</c>, <c>unlimited</c>).</summary>
    IReadOnlyDictionary<string, string> QuotaOverrides(string orgId);

    /// <summary>What the org's machines that are not destroyed (phase) hold, and how much of it is being released.</summary>
    OrgMachines Machines(string orgId);

    /// <summary>The <c>storage_gib</c> of every org's machines on the node whose storage still exists (phase not destroyed).</summary>
    long CommittedStorageGib(string nodeId);

    /// <summary>Every registered node with what its machines that are not destroyed (phase) hold, in id order.</summary>
    IReadOnlyList<NodeLoad> NodeLoads();

    /// <summary>The org's live SSH sessions at <paramref name="now"/>: waking, connecting or ready, and not expired.</summary>
    long LiveSessions(string orgId, DateTimeOffset now);

    /// <summary>When the org's first live session expires, or null when it has none.</summary>
    DateTimeOffset? NextSessionExpiry(string orgId, DateTimeOffset now);

    /// <summary>The org's live executions (waking, queued or running).</summary>
    long LiveExecutions(string orgId);

    /// <summary>The machine's live executions (waking, queued or running).</summary>
    long MachineLiveExecutions(string machineId);
}
