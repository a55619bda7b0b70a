using Dedalus.Contracts;
using Dedalus.Server.Errors;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Server.Http;

/// <summary>The one place that turns an <see cref="ErrorKind"/> into an HTTP status and the DCS error envelope.</summary>
public static class ErrorResponses
{
    private static readonly TimeSpan BusyRetryAfter = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan UnavailableRetryAfter = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxClientRetryWait = TimeSpan.FromSeconds(60);
    private const string ShouldRetryHeader = "x-should-retry";

    public static (int Status, ErrorEnvelope Error) From(DomainException exception)
    {
        var (status, code, retryable, retryAfter) = exception.Kind switch
        {
            ErrorKind.InvalidRequest => (StatusCodes.Status400BadRequest, ErrorCodes.InvalidRequest, false, (TimeSpan?)null),
            ErrorKind.AuthenticationRequired => (StatusCodes.Status401Unauthorized, ErrorCodes.AuthRequired, false, null),
            ErrorKind.AuthenticationFailed => (StatusCodes.Status401Unauthorized, ErrorCodes.AuthInvalid, false, null),
            ErrorKind.OrgMismatch => (StatusCodes.Status403Forbidden, ErrorCodes.AuthOrgMismatch, false, null),
            ErrorKind.Forbidden => (StatusCodes.Status403Forbidden, ErrorCodes.Forbidden, false, null),
            ErrorKind.NotFound => (StatusCodes.Status404NotFound, ErrorCodes.NotFound, false, null),
            ErrorKind.InvalidState => (StatusCodes.Status409Conflict, ErrorCodes.InvalidState, false, null),
            ErrorKind.RevisionMismatch => (StatusCodes.Status409Conflict, ErrorCodes.RevisionMismatch, true, null),
            ErrorKind.NameTaken => (StatusCodes.Status409Conflict, ErrorCodes.MachineNameTaken, false, null),
            ErrorKind.IdempotencyKeyReused => (StatusCodes.Status409Conflict, ErrorCodes.IdempotencyKeyReused, false, null),
            ErrorKind.Busy => (StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimited, true, BusyRetryAfter),
            ErrorKind.Unavailable => (StatusCodes.Status503ServiceUnavailable, ErrorCodes.DependencyUnavailable, true, UnavailableRetryAfter),
            ErrorKind.QuotaExceeded => (StatusCodes.Status409Conflict, ErrorCodes.QuotaExceeded, false, null),
            ErrorKind.QuotaExceededForNow => (StatusCodes.Status429TooManyRequests, ErrorCodes.QuotaExceeded, true, null),
            ErrorKind.InsufficientStorage => (StatusCodes.Status409Conflict, ErrorCodes.InsufficientStorage, false, null),
            ErrorKind.InsufficientCapacity => (StatusCodes.Status409Conflict, ErrorCodes.InsufficientCapacity, false, null),
            _ => throw new ArgumentOutOfRangeException(nameof(exception), exception.Kind, "unknown error kind"),
        };
        var after = exception.RetryAfter ?? retryAfter;
        return (status, new ErrorEnvelope(code, exception.Message, retryable, after is { } a ? (long)a.TotalMilliseconds : null, exception.Details));
    }

    /// <summary>
    /// Writes <paramref name="error"/> as the response, never cached. An answer that a client's automatic retry cannot
    /// change carries <c>x-should-retry: false</c>, which the SDKs obey even on 409 and 429: one not retryable, one not
    /// before more than the 60 s the DCS SDKs wait at most, and every 409 (a conflict answers the same to the same
    /// request: a stale revision is <c>retryable</c> for a caller who reads the machine again, never for a resend). A
    /// retryable one with a hint carries it as <c>retry-after-ms</c> and <c>Retry-After</c>.
    /// </summary>
    public static Task WriteAsync(HttpContext context, int statusCode, ErrorEnvelope error)
    {
        context.Response.StatusCode = statusCode;
        context.Response.Headers.CacheControl = "no-store";
        if (!error.Retryable || statusCode == StatusCodes.Status409Conflict || error.RetryAfterMs > MaxClientRetryWait.TotalMilliseconds)
        {
            context.Response.Headers[ShouldRetryHeader] = "false";
        }
        else if (error.RetryAfterMs is { } ms)
        {
            // The pace the SDKs read before their own back-off: retry-after-ms, then Retry-After in whole seconds.
            context.Response.Headers["retry-after-ms"] = ms.ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.Response.Headers.RetryAfter = ((ms + 999) / 1000).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return context.Response.WriteAsJsonAsync(error, DedalusJsonContext.Default.ErrorEnvelope, contentType: "application/json", context.RequestAborted);
    }
}
