using Microsoft.AspNetCore.Http;

namespace Dedalus.Server.Console;

/// <summary>
/// The console's defences that do not depend on the session: the same-origin rule for mutations and the security
/// headers of every console response.
/// </summary>
public static class ConsoleSecurity
{
    /// <summary>The header that carries the session's synchronizer token on every mutation.</summary>
    public const string CsrfHeader = "X-CSRF-Token";

    /// <summary>
    /// The content security policy of the console's pages: scripts, styles, images and connections from this origin
    /// only (the WebSocket of the terminal included), no plugins, no framing, forms posting here only. Nothing inline
    /// runs, so text that slipped into the page as markup could still not run a script.
    /// </summary>
    public static string ContentSecurityPolicy(HttpRequest request, bool inlineStyles = false)
    {
        // 'self' covers ws(s) of the same host in current browsers; the explicit source keeps older ones working.
        var socket = (request.IsHttps ? "wss://" : "ws://") + request.Host.Value;
        return "default-src 'self'; script-src 'self'; " +
            (inlineStyles ? "style-src 'self' 'unsafe-inline'; " : "style-src 'self'; ") +
            $"img-src 'self' data:; font-src 'self'; connect-src 'self' {socket}; object-src 'none'; base-uri 'none'; " +
            "form-action 'self'; frame-ancestors 'none'";
    }

    /// <summary>The origin this request was sent to: <c>scheme://host[:port]</c>.</summary>
    public static string OwnOrigin(HttpRequest request) => request.Scheme + "://" + request.Host.Value;

    /// <summary>
    /// Whether the request says it comes from a page of this origin: its <c>Origin</c>, or when a browser sent none its
    /// <c>Referer</c>, names this origin. Neither header (or <c>Origin: null</c>) is refused: every browser that runs
    /// the console sends one of them on a POST.
    /// </summary>
    public static bool IsSameOrigin(HttpRequest request)
    {
        var own = OwnOrigin(request);
        var origin = request.Headers.Origin;
        if (origin.Count > 0 && !string.IsNullOrEmpty(origin[0]))
        {
            return origin.Count == 1 && string.Equals(origin[0], own, StringComparison.OrdinalIgnoreCase);
        }

        var referer = request.Headers.Referer;
        return referer.Count == 1
            && Uri.TryCreate(referer[0], UriKind.Absolute, out var uri)
            && string.Equals(uri.GetLeftPart(UriPartial.Authority), own, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Adds the headers every console response carries, unless the handler chose its own.</summary>
    public static void AddHeaders(HttpContext context)
    {
        var headers = context.Response.Headers;
        if (string.IsNullOrEmpty(headers.ContentSecurityPolicy))
        {
            headers.ContentSecurityPolicy = ContentSecurityPolicy(context.Request);
        }

        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "same-origin";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        if (string.IsNullOrEmpty(headers.CacheControl))
        {
            // Pages and JSON hold the org's data and the session's token: never kept by a cache. Assets set their own.
            headers.CacheControl = "no-store";
        }
    }
}
