using System.Net;
using Dedalus.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Dedalus.Console.Tests.Infrastructure;

/// <summary>
/// Another site on loopback: a page that, once loaded, posts a form to the console on its own (as a page an attacker
/// lured the user to would). Reached as <c>http://localhost:PORT</c> it is another site than the console at
/// <c>http://127.0.0.1</c> (no <c>SameSite</c> cookie goes along); as <c>http://127.0.0.1:PORT</c> it is the same site on
/// another port, another origin whose posts do carry the cookie, so only the origin check stands in the way.
/// </summary>
public sealed class CrossSitePage : IAsyncDisposable
{
    private readonly WebApplication _app;

    private CrossSitePage(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Starts a page at <c>/</c> that posts <paramref name="fields"/> to <paramref name="target"/> as <paramref name="encoding"/>.</summary>
    public static async Task<CrossSitePage> StartAsync(Uri target, IReadOnlyDictionary<string, string> fields, string encoding = "application/x-www-form-urlencoded")
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var inputs = string.Concat(fields.Select(f => $"<input type=\"hidden\" name=\"{WebUtility.HtmlEncode(f.Key)}\" value=\"{WebUtility.HtmlEncode(f.Value)}\">"));
        var page = "<!doctype html><html><head><title>A page elsewhere</title></head><body>" +
            $"<form method=\"post\" action=\"{WebUtility.HtmlEncode(target.AbsoluteUri)}\" enctype=\"{encoding}\">{inputs}</form>" +
            "<script>document.forms[0].submit();</script></body></html>";
        app.MapGet("/", () => Results.Content(page, "text/html; charset=utf-8"));
        await app.StartAsync();
        return new CrossSitePage(app, port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
