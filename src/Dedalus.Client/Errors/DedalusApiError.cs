using System.Net;

namespace Dedalus.Client;

/// <summary>
/// An error answer of the API: its HTTP status and the fields of the DCS error envelope
/// (<c>{error_code, message, retryable, retry_after_ms, details}</c>). Every <see cref="DedalusApiException"/> carries one.
/// </summary>
/// <param name="StatusCode">HTTP status of the answer.</param>
/// <param name="ErrorCode">The envelope's <c>error_code</c> (<c>AUTH_INVALID</c>, <c>NOT_FOUND</c>, ...), if the body had one.</param>
/// <param name="Message">The envelope's <c>message</c>, or a description of the status.</param>
/// <param name="Retryable">The envelope's <c>retryable</c> flag: whether the same request may succeed later.</param>
/// <param name="RetryAfterMs">The envelope's <c>retry_after_ms</c>: the server's suggested delay before a retry, in milliseconds.</param>
/// <param name="Details">The envelope's <c>details</c> (field names, expected values); empty when it had none.</param>
public sealed record DedalusApiError(
    HttpStatusCode StatusCode,
    string? ErrorCode,
    string Message,
    bool Retryable = false,
    long? RetryAfterMs = null,
    IReadOnlyDictionary<string, string>? Details = null)
{
    private static readonly IReadOnlyDictionary<string, string> NoDetails = new Dictionary<string, string>();

    /// <summary>The envelope's <c>details</c> (field names, expected values); empty when it had none.</summary>
    public IReadOnlyDictionary<string, string> Details { get; init; } = Details ?? NoDetails;
}
