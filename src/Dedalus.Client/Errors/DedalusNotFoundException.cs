using System.Net;

namespace Dedalus.Client;

/// <summary>The machine or session does not exist, or is not visible to this key (404).</summary>
public sealed class DedalusNotFoundException : DedalusApiException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="statusCode">HTTP status of the answer.</param>
    /// <param name="errorCode">The envelope's <c>error_code</c>, if the body had one.</param>
    /// <param name="message">The envelope's <c>message</c>, or a description of the status.</param>
    /// <param name="retryable">The envelope's <c>retryable</c> flag.</param>
    /// <param name="retryAfterMs">The envelope's <c>retry_after_ms</c> hint.</param>
    /// <param name="details">The envelope's <c>details</c>.</param>
    public DedalusNotFoundException(
        HttpStatusCode statusCode,
        string? errorCode,
        string message,
        bool retryable = false,
        long? retryAfterMs = null,
        IReadOnlyDictionary<string, string>? details = null)
        : base(statusCode, errorCode, message, retryable, retryAfterMs, details)
    {
    }
}
