using Dedalus.Server.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Dedalus.Server.Console.Api;

/// <summary>
/// The console's HTML: sign-in (a plain form, so it works before any script runs), the machines list, a machine, and
/// its terminal. Pages of a signed-in browser carry the session's CSRF token in a meta tag; without a session they
/// send the browser to the sign-in page.
/// </summary>
public static class ConsolePages
{
    private const int MaxSignInForm = 4096;

    public static void MapConsolePages(this IEndpointRouteBuilder routes)
    {
        routes.MapGet(ConsolePaths.Root, MachinesAsync).ExcludeFromDescription();
        routes.MapGet(ConsolePaths.SignIn, SignInPageAsync).ExcludeFromDescription();
        routes.MapPost(ConsolePaths.SignIn, SignInAsync).ExcludeFromDescription().DisableAntiforgery();
        routes.MapGet(ConsolePaths.Root + "/machines/{machineId}", MachineAsync).ExcludeFromDescription();
        routes.MapGet(ConsolePaths.Root + "/machines/{machineId}/terminal", TerminalAsync).ExcludeFromDescription();
        routes.MapGet(ConsolePaths.Assets + "/{*file}", (HttpContext context, string file, ConsoleAssets assets) => assets.Serve(context, file)).ExcludeFromDescription();
    }

    private static Task<IResult> MachinesAsync(HttpContext context, ConsoleCaller caller, ConsoleAssets assets) => SignedInPageAsync(context, caller, assets, "machines");

    private static Task<IResult> MachineAsync(HttpContext context, ConsoleCaller caller, ConsoleAssets assets) => SignedInPageAsync(context, caller, assets, "machine");

    private static async Task<IResult> TerminalAsync(HttpContext context, ConsoleCaller caller, ConsoleAssets assets)
    {
        // xterm.js writes its own <style> elements (glyph metrics, theme): this page alone allows inline styles.
        // Scripts stay 'self' only.
        context.Response.Headers.ContentSecurityPolicy = ConsoleSecurity.ContentSecurityPolicy(context.Request, inlineStyles: true);
        return await SignedInPageAsync(context, caller, assets, "terminal");
    }

    private static async Task<IResult> SignedInPageAsync(HttpContext context, ConsoleCaller caller, ConsoleAssets assets, string page)
    {
        if (await caller.SessionAsync(context, context.RequestAborted) is not { } session)
        {
            return Results.Redirect(ConsolePaths.SignIn);
        }

        return assets.Page(page, new Dictionary<string, string> { ["csrf_token"] = session.CsrfToken });
    }

    private static async Task<IResult> SignInPageAsync(HttpContext context, ConsoleCaller caller, ConsoleAssets assets)
    {
        if (await caller.SessionAsync(context, context.RequestAborted) is not null)
        {
            return Results.Redirect(ConsolePaths.Root);
        }

        return SignInForm(context, assets, error: "", StatusCodes.Status200OK);
    }

    /// <summary>
    /// The sign-in form with a fresh login token: the same random value in a cookie and in the form, so a form posted
    /// from another site (which can neither read the cookie nor set it, <c>SameSite=Strict</c>) cannot sign this browser
    /// into the attacker's org.
    /// </summary>
    private static IResult SignInForm(HttpContext context, ConsoleAssets assets, string error, int status)
    {
        var token = ConsoleSessions.NewSecret();
        ConsoleCookies.Set(context, ConsoleCookies.Login(context.Request), token, expires: null);
        return assets.Page("login", new Dictionary<string, string> { ["login_token"] = token, ["error"] = error }, status);
    }

    private static async Task<IResult> SignInAsync(HttpContext context, ConsoleSessions sessions, ConsoleAssets assets, ILoggerFactory loggers)
    {
        var request = context.Request;
        if (!request.HasFormContentType || request.ContentLength is null or > MaxSignInForm)
        {
            throw DomainException.InvalidRequest("sign in with the console's form: an application/x-www-form-urlencoded body of at most 4 KiB");
        }

        var form = await request.ReadFormAsync(context.RequestAborted);
        request.Cookies.TryGetValue(ConsoleCookies.Login(request), out var expected);
        if (!ConsoleSessions.SecretsEqual(form["login_token"].ToString(), expected))
        {
            throw new DomainException(ErrorKind.Forbidden, "the sign-in form has expired or did not come from this console; open the sign-in page again");
        }

        var apiKey = form["api_key"].ToString();
        if (apiKey.Trim().Length == 0)
        {
            return SignInForm(context, assets, "Enter an API key.", StatusCodes.Status400BadRequest);
        }

        var logger = loggers.CreateLogger("Dedalus.Server.Console");
        if (await sessions.SignInAsync(apiKey, context.RequestAborted) is not { } signedIn)
        {
            ConsoleLog.SignInRefused(logger, context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
            return SignInForm(context, assets, "That API key is not valid (or was revoked). Check it and try again.", StatusCodes.Status401Unauthorized);
        }

        var (session, token) = signedIn;
        ConsoleLog.SignedIn(logger, session.Id, session.OrgId);
        ConsoleCookies.Clear(context, ConsoleCookies.Login(request));
        ConsoleCookies.Set(context, ConsoleCookies.Session(request), token, session.ExpiresAt);

        // 303: the browser follows with a GET, so a reload does not post the key again.
        context.Response.Headers.Location = ConsolePaths.Root;
        return Results.StatusCode(StatusCodes.Status303SeeOther);
    }
}
