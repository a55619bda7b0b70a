using Dedalus.Server.Errors;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Dedalus.Server.Http;

/// <summary>
/// The first check of every request, before authentication, routing and idempotency: a request target whose path
/// could name another resource than it says (<see cref="RequestTarget"/>), or a header value with a control character,
/// is a 400 <c>INVALID_REQUEST</c> naming the problem, and nothing runs. Requests Kestrel refuses itself (a malformed
/// request line or header, a NUL in the path, oversized headers) never get here; the server's README lists them.
/// </summary>
public sealed class MalformedRequestMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (RequestTarget.FindProblem(context.Features.Get<IHttpRequestFeature>()?.RawTarget) is { } problem)
        {
            throw DomainException.InvalidRequest(problem);
        }

        foreach (var (name, values) in context.Request.Headers)
        {
            foreach (var value in values)
            {
                if (FirstControl(value) is { } control)
                {
                    throw DomainException.InvalidRequest($"header {name} contains a control character (U+{(int)control:X4}); header values are printable text", name);
                }
            }
        }

        return next(context);
    }

    /// <summary>
    /// The first C0 control character or DEL in a header value, tab excepted (RFC 9110 5.5: a field value is visible
    /// characters, spaces, tabs and obs-text). Kestrel refuses NUL, CR and LF itself; the other controls reach us.
    /// </summary>
    private static char? FirstControl(string? value)
    {
        foreach (var c in value ?? string.Empty)
        {
            if ((c < 0x20 && c != '\t') || c == 0x7F)
            {
                return c;
            }
        }

        return null;
    }
}
