using Dedalus.Contracts;

namespace Dedalus.Server.Store;

/// <summary>A machine row: desired state written by the API, phase written by the reconciler.</summary>
public sealed record MachineRecord
{
    public required string Id { get; init; }
    public required string OrgId { get; init; }
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

    /// <summary>Whether the observed phase is the one the desired state asks for.</summary>
    public bool IsConverged => Phase == DesiredState;

    /// <summary>
    /// Whether nobody can reach this machine because the gateway cannot listen on its port, while the machine is
    /// otherwise alive (a failed machine or one being destroyed has a bigger problem).
    /// </summary>
    public bool IsGatewayPortUnavailable =>
        GatewayPortError is not null && DesiredState != DesiredStates.Destroyed
        && Phase is not (MachinePhases.Failed or MachinePhases.Destroying or MachinePhases.Destroyed);
}
