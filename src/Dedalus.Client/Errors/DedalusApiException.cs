using System.Net;

namespace Dedalus.Client;

/// <summary>
/// The API answered with an error status. Carries the fields of the DCS error envelope
/// (<c>{error_code, message, retryable, retry_after_ms, details}</c>); the subclasses name the common statuses.
/// </summary>
/// <param name="error">The status and the envelope's fields; <see cref="Exception.Message"/> is its message.</param>
public class DedalusApiException(DedalusApiError error) : DedalusException(error?.Message ?? throw new ArgumentNullException(nameof(error)))
{
    /// <summary>The status and the envelope's fields, as one value.</summary>
    public DedalusApiError Error { get; } = error;

    /// <summary>HTTP status of the answer.</summary>
    public HttpStatusCode StatusCode => Error.StatusCode;

    /// <summary>Stable machine-readable code (<c>AUTH_INVALID</c>, <c>NOT_FOUND</c>, ...), if the body had one.</summary>
    public string? ErrorCode => Error.ErrorCode;

    /// <summary>Whether the same request may succeed later.</summary>
    public bool Retryable => Error.Retryable;

    /// <summary>The server's suggested delay before a retry, in milliseconds.</summary>
    public long? RetryAfterMs => Error.RetryAfterMs;

    /// <summary>Structured details of the error (field names, expected values).</summary>
    public IReadOnlyDictionary<string, string> Details => Error.Details;
}
