using Microsoft.AspNetCore.Http;

namespace Dedalus.Server.Console;

/// <summary>
/// The console's cookies: the browser session and the sign-in form's own anti-forgery token. Both are HttpOnly,
/// <c>SameSite=Strict</c> and scoped to <c>/console</c> (the API under <c>/v1</c> never sees them). Over TLS they are
/// <c>Secure</c> and carry the <c>__Secure-</c> prefix, which browsers accept only on a secure cookie; the stronger
/// <c>__Host-</c> prefix would demand <c>Path=/</c>, and keeping the cookie away from <c>/v1</c> matters more here.
/// </summary>
public static class ConsoleCookies
{
    public const string SessionName = "dedalus_console";
    private const string LoginName = "dedalus_console_login";

    /// <summary>The path every console cookie is scoped to.</summary>
    public const string Path = "/console";

    public static string Session(HttpRequest request) => (request.IsHttps ? "__Secure-" : "") + SessionName;

    public static string Login(HttpRequest request) => (request.IsHttps ? "__Secure-" : "") + LoginName;

    public static void Set(HttpContext context, string name, string value, DateTimeOffset? expires) =>
        context.Response.Cookies.Append(name, value, Options(context.Request, expires));

    public static void Clear(HttpContext context, string name) =>
        context.Response.Cookies.Delete(name, Options(context.Request, null));

    private static CookieOptions Options(HttpRequest request, DateTimeOffset? expires) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = request.IsHttps,
        Path = Path,
        Expires = expires,
        IsEssential = true,
    };
}
