namespace Dedalus.Server.Store;

/// <summary>An SSH session row. The certificate is issued at creation and shown once the session is ready.</summary>
public sealed record SessionRecord
{
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string MachineId { get; init; }
    public required string Status { get; init; }
    public required string PublicKey { get; init; }
    public required ulong Serial { get; init; }
    public string? Certificate { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? ReadyAt { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
    public DateTimeOffset? ClosedAt { get; init; }
    public string? ErrorCode { get; init; }
    public string? ErrorMessage { get; init; }
}
