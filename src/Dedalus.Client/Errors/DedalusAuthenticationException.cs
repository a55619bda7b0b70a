namespace Dedalus.Client;

/// <summary>The API key was missing, invalid or not allowed (401 or 403).</summary>
/// <param name="error">The status and the envelope's fields.</param>
public sealed class DedalusAuthenticationException(DedalusApiError error) : DedalusApiException(error);
