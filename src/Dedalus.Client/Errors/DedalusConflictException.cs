namespace Dedalus.Client;

/// <summary>The request conflicts with the resource's state or a reused idempotency key (409).</summary>
/// <param name="error">The status and the envelope's fields.</param>
public sealed class DedalusConflictException(DedalusApiError error) : DedalusApiException(error);
