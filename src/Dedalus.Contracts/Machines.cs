namespace Dedalus.Contracts;

/// <summary>Body of <c>POST /v1/machines</c>. Every field is optional: 1 vCPU, 4096 MiB, 10 GiB, <c>300s</c>, no name.</summary>
/// <param name="Vcpu">Virtual CPUs, in quarter steps (0.25, 0.5, 1, 2, ...).</param>
/// <param name="MemoryMib">Memory limit in MiB.</param>
/// <param name="StorageGib">Size of the persistent <c>/home/machine</c> volume in GiB.</param>
/// <param name="Autosleep">Idle time before the machine sleeps: <c>30s</c>, <c>15m</c>, <c>2h</c>, <c>1w3d</c>, raw seconds, or <c>never</c>.</param>
/// <param name="Name">A name unique in the organization, usable in paths instead of the id; see <see cref="MachineNames"/>.</param>
/// <param name="Network">Our extension: the machine's egress policy (absent: open, with the server's default deny list).</param>
public sealed record CreateMachineRequest(
    double? Vcpu = null, long? MemoryMib = null, long? StorageGib = null, string? Autosleep = null, string? Name = null,
    MachineNetworkSettings? Network = null);

/// <summary>Body of <c>PATCH /v1/machines/{id}</c>. Every field is optional; storage only grows.</summary>
/// <param name="Vcpu">New virtual CPU count.</param>
/// <param name="MemoryMib">New memory limit in MiB.</param>
/// <param name="StorageGib">New storage size in GiB (must not shrink).</param>
/// <param name="Autosleep">New idle time before sleep, same grammar as on create.</param>
/// <param name="Name">New name; the empty string removes it.</param>
/// <param name="Network">Our extension: a new egress policy; each field given replaces that field, absent ones stay. Applied to a running machine within a second.</param>
public sealed record UpdateMachineRequest(
    double? Vcpu = null, long? MemoryMib = null, long? StorageGib = null, string? Autosleep = null, string? Name = null,
    MachineNetworkSettings? Network = null);

/// <summary>
/// Our extension (official clients neither send nor read it): what a machine may reach. The host, other machines and,
/// by the server's default, private, shared, link-local and multicast ranges are refused; the rest of the internet is open.
/// </summary>
/// <param name="Egress"><c>open</c> (default) or <c>none</c> (nothing leaves the machine, DNS neither).</param>
/// <param name="AllowCidrs">Ranges opened although the server's default deny list names them (for example an internal mirror).</param>
/// <param name="DenyCidrs">Ranges refused although open otherwise; checked before <paramref name="AllowCidrs"/>.</param>
/// <param name="Address">The machine's address (read-only; assigned by the server, stable for the machine's life).</param>
public sealed record MachineNetworkSettings(
    string? Egress = null, IReadOnlyList<string>? AllowCidrs = null, IReadOnlyList<string>? DenyCidrs = null, string? Address = null);

/// <summary>Values of <see cref="MachineNetworkSettings.Egress"/>.</summary>
public static class EgressModes
{
    /// <summary>The internet, minus the deny lists.</summary>
    public const string Open = "open";

    /// <summary>Nothing leaves the machine.</summary>
    public const string None = "none";
}

/// <summary>The life-cycle status of a machine, as nested in every machine payload.</summary>
/// <param name="Phase">Observed phase; see <see cref="MachinePhases"/>.</param>
/// <param name="Reason">Short machine-readable reason for the current phase.</param>
/// <param name="Retryable">Whether a failure in this phase is worth retrying.</param>
/// <param name="Revision">Optimistic-concurrency revision; also sent as <c>ETag</c>.</param>
/// <param name="LastTransitionAt">When the phase last changed.</param>
/// <param name="LastProgressAt">When the reconciler last made progress on this machine.</param>
/// <param name="LastError">The last error, if any.</param>
/// <param name="MemoryConfiguredMib">The accepted RAM maximum in MiB: <c>memory_mib</c> plus completed automatic increases.</param>
/// <param name="MemoryAssignedMib">The limit the running machine has now, as last read from the runtime; absent when not running.</param>
/// <param name="MemoryTargetMib">The limit being applied: a pending automatic increase, else the configured maximum.</param>
/// <param name="MemoryResizeState">See <see cref="MemoryResizeStates"/>.</param>
/// <param name="MemoryLastAutoresizedAt">The latest completed automatic increase.</param>
public sealed record LifecycleStatus(
    string Phase,
    string Reason,
    bool Retryable,
    string Revision,
    DateTimeOffset LastTransitionAt,
    DateTimeOffset LastProgressAt,
    string? LastError = null,
    long MemoryConfiguredMib = 0,
    long? MemoryAssignedMib = null,
    long? MemoryTargetMib = null,
    string? MemoryResizeState = null,
    DateTimeOffset? MemoryLastAutoresizedAt = null);

/// <summary>Values of <see cref="LifecycleStatus.MemoryResizeState"/>.</summary>
public static class MemoryResizeStates
{
    /// <summary>The running limit is the target.</summary>
    public const string Stable = "stable";
    /// <summary>An increase could not be applied; <c>last_error</c> says why.</summary>
    public const string Error = "error";
    /// <summary>The machine needs more memory than its autoresizing ceiling allows.</summary>
    public const string PendingCapacity = "pending_capacity";
}

/// <summary>Body and answer of <c>GET/PUT /v1/machines/{id}/autoresizing</c> and <c>/v1/organization/autoresizing</c>.</summary>
/// <param name="Enabled">Whether memory grows automatically when a machine nears its limit.</param>
public sealed record AutoresizingSettings(bool? Enabled);

/// <summary>
/// A machine as returned by every machine endpoint. Carries both the flat <c>phase</c> (older clients)
/// and the nested <c>status</c> object (newer clients).
/// </summary>
/// <param name="MachineId">The machine id: a bare lowercase uuid (paths also take <c>dm-&lt;uuid&gt;</c> and the name).</param>
/// <param name="Vcpu">Virtual CPUs.</param>
/// <param name="MemoryMib">Memory limit in MiB.</param>
/// <param name="StorageGib">Persistent storage in GiB.</param>
/// <param name="AutosleepSeconds">Idle seconds before autosleep; 0 means never.</param>
/// <param name="DesiredState">Target state; see <see cref="DesiredStates"/>.</param>
/// <param name="Phase">Observed phase (same as <c>status.phase</c>).</param>
/// <param name="Status">Detailed life-cycle status.</param>
/// <param name="CreatedAt">When the machine was created.</param>
/// <param name="Name">The machine's name, when it has one.</param>
/// <param name="Network">Our extension: the machine's address and egress policy; absent when the server runs machines without a network.</param>
public sealed record Machine(
    string MachineId,
    double Vcpu,
    long MemoryMib,
    long StorageGib,
    long AutosleepSeconds,
    string DesiredState,
    string Phase,
    LifecycleStatus Status,
    DateTimeOffset CreatedAt,
    string? Name = null,
    MachineNetworkSettings? Network = null);

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
