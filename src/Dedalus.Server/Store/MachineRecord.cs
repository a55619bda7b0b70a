using Dedalus.Contracts;

namespace Dedalus.Server.Store;

/// <summary>A machine row: desired state written by the API, phase written by the reconciler.</summary>
public sealed record MachineRecord
{
    public required string Id { get; init; }
    public required string OrgId { get; init; }

    /// <summary>The node the machine is placed on, the only one that drives its runtime; set by the insert.</summary>
    public string? NodeId { get; init; }
    public required double Vcpu { get; init; }
    public required long MemoryMib { get; init; }
    public required long StorageGib { get; init; }
    public required long AutosleepSeconds { get; init; }
    public required string DesiredState { get; init; }
    public required string Phase { get; init; }
    public required string Reason { get; init; }
    public bool Retryable { get; init; }
    public string? LastError { get; init; }
    public required long Revision { get; init; }
    public int GatewayPort { get; init; }

    /// <summary>Why the gateway cannot listen on <see cref="GatewayPort"/> right now (another process holds it); null when it listens.</summary>
    public string? GatewayPortError { get; init; }
    public bool ResourcesDirty { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset LastTransitionAt { get; init; }
    public required DateTimeOffset LastProgressAt { get; init; }
    public required DateTimeOffset LastActivityAt { get; init; }

    /// <summary>The machine's name, unique among its org's machines that are not destroyed; null when it has none.</summary>
    public string? Name { get; init; }

    /// <summary>A reboot asked for and not done yet (<see cref="RebootModes"/>); null when none.</summary>
    public string? Reboot { get; init; }

    /// <summary>The machine's own autoresizing switch; null follows the org's policy.</summary>
    public bool? Autoresize { get; init; }

    /// <summary>MiB added to <see cref="MemoryMib"/> by completed automatic increases (0 after a caller sets memory_mib).</summary>
    public long MemoryAutoresizedMib { get; init; }

    /// <summary>The latest completed automatic increase.</summary>
    public DateTimeOffset? MemoryLastAutoresizedAt { get; init; }

    /// <summary><c>stable</c>, <c>error</c> or <c>pending_capacity</c> (see MemoryResizeStates); null = stable.</summary>
    public string? MemoryResizeState { get; init; }

    /// <summary>The machine's IPv4 address, given at its first provisioning and kept for its life; null before, or with networking off.</summary>
    public string? NetworkAddress { get; init; }

    /// <summary>The egress policy as the wire's <c>network</c> JSON without the address; null: the default (open).</summary>
    public string? NetworkPolicy { get; init; }

    /// <summary>The memory limit the runtime applies: <see cref="MemoryMib"/> plus the automatic increases.</summary>
    public long MemoryConfiguredMib => MemoryMib + MemoryAutoresizedMib;

    /// <summary>Whether the observed phase is the one the desired state asks for, with no reboot pending.</summary>
    public bool IsConverged => Phase == DesiredState && Reboot is null;

    /// <summary>
    /// Whether nobody can reach this machine because the gateway cannot listen on its port, while the machine is
    /// otherwise alive (a failed machine or one being destroyed has a bigger problem).
    /// </summary>
    public bool IsGatewayPortUnavailable =>
        GatewayPortError is not null && DesiredState != DesiredStates.Destroyed
        && Phase is not (MachinePhases.Failed or MachinePhases.Destroying or MachinePhases.Destroyed);
}

/// <summary>Values of <see cref="MachineRecord.Reboot"/>.</summary>
public static class RebootModes
{
    /// <summary>Processes get SIGTERM and a grace period before the machine restarts.</summary>
    public const string Graceful = "graceful";

    /// <summary>Processes are killed at once.</summary>
    public const string Force = "force";
}
