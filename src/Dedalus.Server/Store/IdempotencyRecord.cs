namespace Dedalus.Server.Store;

/// <summary>A stored idempotency record: in flight, or the first response to replay.</summary>
public sealed record IdempotencyRecord(
    string RequestHash,
    bool Completed,
    int StatusCode,
    string? ETag,
    string? ContentType,
    byte[]? Body,
    string? StorageOperationId = null);
