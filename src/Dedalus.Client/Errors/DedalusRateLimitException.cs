namespace Dedalus.Client;

/// <summary>Too many requests, or the idempotency key is still in flight (429).</summary>
/// <param name="error">The status and the envelope's fields.</param>
public sealed class DedalusRateLimitException(DedalusApiError error) : DedalusApiException(error);
