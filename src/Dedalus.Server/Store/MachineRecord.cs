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
    public bool ResourcesDirty { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset LastTransitionAt { get; init; }
    public required DateTimeOffset LastProgressAt { get; init; }
    public required DateTimeOffset LastActivityAt { get; init; }

    /// <summary>Whether the observed phase is the one the desired state asks for.</summary>
    public bool IsConverged => Phase == DesiredState;
}
