namespace Dedalus.Contracts;

/// <summary>Body of <c>POST /v1/machines</c>. <c>vcpu</c>, <c>memory_mib</c> and <c>storage_gib</c> are required.</summary>
/// <param name="Vcpu">Virtual CPUs, in quarter steps (0.25, 0.5, 1, 2, ...).</param>
/// <param name="MemoryMib">Memory limit in MiB.</param>
/// <param name="StorageGib">Size of the persistent <c>/home/machine</c> volume in GiB.</param>
/// <param name="Autosleep">Idle time before the machine sleeps: <c>30s</c>, <c>15m</c>, <c>2h</c>, <c>1w3d</c>, raw seconds, or <c>never</c>.</param>
public sealed record CreateMachineRequest(double? Vcpu, long? MemoryMib, long? StorageGib, string? Autosleep = null);

/// <summary>Body of <c>PATCH /v1/machines/{id}</c>. Every field is optional; storage only grows.</summary>
/// <param name="Vcpu">New virtual CPU count.</param>
/// <param name="MemoryMib">New memory limit in MiB.</param>
/// <param name="StorageGib">New storage size in GiB (must not shrink).</param>
/// <param name="Autosleep">New idle time before sleep, same grammar as on create.</param>
public sealed record UpdateMachineRequest(double? Vcpu = null, long? MemoryMib = null, long? StorageGib = null, string? Autosleep = null);

/// <summary>The life-cycle status of a machine, as nested in every machine payload.</summary>
/// <param name="Phase">Observed phase; see <see cref="MachinePhases"/>.</param>
/// <param name="Reason">Short machine-readable reason for the current phase.</param>
/// <param name="Retryable">Whether a failure in this phase is worth retrying.</param>
/// <param name="Revision">Optimistic-concurrency revision; also sent as <c>ETag</c>.</param>
/// <param name="LastTransitionAt">When the phase last changed.</param>
/// <param name="LastProgressAt">When the reconciler last made progress on this machine.</param>
/// <param name="LastError">The last error, if any.</param>
public sealed record LifecycleStatus(
    string Phase,
    string Reason,
    bool Retryable,
    string Revision,
    DateTimeOffset LastTransitionAt,
    DateTimeOffset LastProgressAt,
    string? LastError = null);

/// <summary>
/// A machine as returned by every machine endpoint. Carries both the flat <c>phase</c> (older clients)
/// and the nested <c>status</c> object (newer clients).
/// </summary>
/// <param name="MachineId">The machine id, <c>dm-&lt;uuid&gt;</c>.</param>
/// <param name="Vcpu">Virtual CPUs.</param>
/// <param name="MemoryMib">Memory limit in MiB.</param>
/// <param name="StorageGib">Persistent storage in GiB.</param>
/// <param name="AutosleepSeconds">Idle seconds before autosleep; 0 means never.</param>
/// <param name="DesiredState">Target state; see <see cref="DesiredStates"/>.</param>
/// <param name="Phase">Observed phase (same as <c>status.phase</c>).</param>
/// <param name="Status">Detailed life-cycle status.</param>
/// <param name="CreatedAt">When the machine was created.</param>
public sealed record Machine(
    string MachineId,
    double Vcpu,
    long MemoryMib,
    long StorageGib,
    long AutosleepSeconds,
    string DesiredState,
    string Phase,
    LifecycleStatus Status,
    DateTimeOffset CreatedAt);

/// <summary>One page of machines.</summary>
/// <param name="Items">The machines on this page.</param>
/// <param name="NextCursor">Opaque cursor for the next page; absent on the last page.</param>
public sealed record MachineList(IReadOnlyList<Machine> Items, string? NextCursor = null);

/// <summary>Desired states a machine can be asked to reach.</summary>
public static class DesiredStates
{
    /// <summary>The machine should run.</summary>
    public const string Running = "running";
    /// <summary>The machine should sleep: no processes, storage kept.</summary>
    public const string Sleeping = "sleeping";
    /// <summary>The machine should be destroyed with its storage.</summary>
    public const string Destroyed = "destroyed";
}

/// <summary>Observed machine phases.</summary>
public static class MachinePhases
{
    /// <summary>Accepted by the API, not yet acted on.</summary>
    public const string Accepted = "accepted";
    /// <summary>Waiting for a host.</summary>
    public const string PlacementPending = "placement_pending";
    /// <summary>Starting or waking.</summary>
    public const string Starting = "starting";
    /// <summary>Running.</summary>
    public const string Running = "running";
    /// <summary>Going to sleep.</summary>
    public const string Stopping = "stopping";
    /// <summary>Asleep: no processes, storage kept.</summary>
    public const string Sleeping = "sleeping";
    /// <summary>Being destroyed.</summary>
    public const string Destroying = "destroying";
    /// <summary>Destroyed.</summary>
    public const string Destroyed = "destroyed";
    /// <summary>Failed; see <see cref="LifecycleStatus.LastError"/>.</summary>
    public const string Failed = "failed";
}
