using Dedalus.Server.Errors;
using Dedalus.Server.Http;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Server.Console;

/// <summary>
/// The gate of everything under <c>/console</c>. Every response gets the security headers. Every mutation must come
/// from a page of this origin (<c>Origin</c>, else <c>Referer</c>) and, but for the sign-in form (which has a token of
/// its own), carry the session's CSRF token in <c>X-CSRF-Token</c>: refusals are 403 and nothing runs. The JSON API
/// (<c>/console/api</c>) needs a browser session and runs as its org, exactly as <c>/v1</c> runs as a key's org.
/// The cookie is never read outside <c>/console</c>: <c>/v1</c> takes API keys only.
/// </summary>
public sealed class ConsoleMiddleware(RequestDelegate next, ConsoleCaller caller)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments(ConsolePaths.Root, StringComparison.OrdinalIgnoreCase))
        {
            await next(context);
            return;
        }

        context.Response.OnStarting(() =>
        {
            ConsoleSecurity.AddHeaders(context);
            return Task.CompletedTask;
        });

        var method = context.Request.Method;
        var mutation = !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method));
        if (mutation && !ConsoleSecurity.IsSameOrigin(context.Request))
        {
            throw new DomainException(
                ErrorKind.Forbidden, $"cross-site request refused: the console accepts changes only from its own pages ({ConsoleSecurity.OwnOrigin(context.Request)})");
        }

        var isApi = context.Request.Path.StartsWithSegments(ConsolePaths.Api, StringComparison.OrdinalIgnoreCase);
        if ((mutation && !IsSignIn(context.Request)) || isApi)
        {
            var session = await caller.SessionAsync(context, context.RequestAborted)
                ?? throw new DomainException(ErrorKind.AuthenticationRequired, "sign in to the console first: the browser session is missing, expired or signed out");
            if (mutation && !ConsoleSessions.SecretsEqual(context.Request.Headers[ConsoleSecurity.CsrfHeader].ToString(), session.CsrfToken))
            {
                throw new DomainException(ErrorKind.Forbidden, $"the request lacks this browser session's anti-forgery token ({ConsoleSecurity.CsrfHeader}); reload the page");
            }

            CallerOrg.Set(context, session.OrgId);
        }

        await next(context);
    }

    private static bool IsSignIn(HttpRequest request) => request.Path.Equals(ConsolePaths.SignIn, StringComparison.OrdinalIgnoreCase);
}
