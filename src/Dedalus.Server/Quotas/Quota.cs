namespace Dedalus.Server.Quotas;

/// <summary>
/// What a per-org quota limits. A new quota is a member here, its row in
/// <see cref="QuotaCatalog"/>, its use read by the store, and a check where the thing is created.
/// </summary>
public enum Quota
{
    /// <summary>
    /// Machines not yet destroyed: a machine whose deletion was asked holds its port, image and processes until the
    /// runtime has destroyed it, so it counts until then (otherwise creating and deleting in a loop would hold more).
    /// </summary>
    Machines,

    /// <summary>The sum of <c>vcpu</c> over the org's machines not yet destroyed.</summary>
    Vcpu,

    /// <summary>The sum of <c>memory_mib</c> over the org's machines not yet destroyed.</summary>
    MemoryMib,

    /// <summary>The sum of <c>storage_gib</c> over the org's machines not yet destroyed.</summary>
    StorageGib,

    /// <summary>Live SSH sessions: <c>wake_in_progress</c>, <c>ssh_in_progress</c> or <c>ready</c>, and not expired.</summary>
    Sessions,

    /// <summary>Live executions: <c>wake_in_progress</c>, <c>queued</c> or <c>running</c>.</summary>
    Executions,
}
