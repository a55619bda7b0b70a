using System.Net;

namespace Dedalus.Client;

/// <summary>
/// The API answered with an error status. Carries the fields of the DCS error envelope
/// (<c>{error_code, message, retryable, retry_after_ms, details}</c>).
/// </summary>
public class DedalusApiException : DedalusException
{
    /// <summary>Creates an API exception.</summary>
    /// <param name="statusCode">HTTP status of the answer.</param>
    /// <param name="errorCode">The envelope's <c>error_code</c>, if the body had one.</param>
    /// <param name="message">The envelope's <c>message</c>, or a description of the status.</param>
    /// <param name="retryable">The envelope's <c>retryable</c> flag.</param>
    /// <param name="retryAfterMs">The envelope's <c>retry_after_ms</c> hint.</param>
    /// <param name="details">The envelope's <c>details</c>.</param>
    public DedalusApiException(
        HttpStatusCode statusCode,
        string? errorCode,
        string message,
        bool retryable = false,
        long? retryAfterMs = null,
        IReadOnlyDictionary<string, string>? details = null)
        : base(message)
    {
        StatusCode = statusCode;
        ErrorCode = errorCode;
        Retryable = retryable;
        RetryAfterMs = retryAfterMs;
        Details = details ?? new Dictionary<string, string>();
    }

    /// <summary>HTTP status of the answer.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>Stable machine-readable code (<c>AUTH_INVALID</c>, <c>NOT_FOUND</c>, ...), if the body had one.</summary>
    public string? ErrorCode { get; }

    /// <summary>Whether the same request may succeed later.</summary>
    public bool Retryable { get; }

    /// <summary>The server's suggested delay before a retry, in milliseconds.</summary>
    public long? RetryAfterMs { get; }

    /// <summary>Structured details of the error (field names, expected values).</summary>
    public IReadOnlyDictionary<string, string> Details { get; }
}
