namespace Dedalus.Client;

/// <summary>The server or one of its dependencies failed (5xx).</summary>
/// <param name="error">The status and the envelope's fields.</param>
public sealed class DedalusServerException(DedalusApiError error) : DedalusApiException(error);
