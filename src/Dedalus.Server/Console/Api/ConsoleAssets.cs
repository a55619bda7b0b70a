using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Server.Console.Api;

/// <summary>
/// The console's pages and assets, embedded in the server assembly by the project's npm build (so the single-file
/// server carries them; nothing comes from a CDN). Assets are served with their content type and an ETag; pages are
/// templates whose few values (the session's CSRF token, the sign-in form's token, an error) are HTML-encoded.
/// </summary>
public sealed class ConsoleAssets
{
    private const string ResourcePrefix = "DedalusConsole/";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".mjs"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".txt"] = "text/plain; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".png"] = "image/png",
        [".ico"] = "image/x-icon",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private readonly FrozenDictionary<string, Asset> _assets;

    public ConsoleAssets()
    {
        var assembly = typeof(ConsoleAssets).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var name = resource[ResourcePrefix.Length..];
            var type = ContentTypes.GetValueOrDefault(Path.GetExtension(name), "application/octet-stream");
            assets[name] = new Asset(bytes, type, "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes).AsSpan(0, 12)) + "\"");
        }

        _assets = assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>Whether the build embedded the console (false only in a build that skipped the npm step on purpose).</summary>
    public bool IsEmpty => _assets.Count == 0;

    /// <summary>
    /// Serves <c>assets/<paramref name="file"/></c>: 304 when the browser's copy is current, else the bytes. Cached as
    /// <c>no-cache</c> (revalidated on every use) rather than for a time: asset names carry no version, and an upgraded
    /// server must never run a page against last release's script; a revalidation is one small 304.
    /// </summary>
    public IResult Serve(HttpContext context, string file)
    {
        if (!_assets.TryGetValue("assets/" + file, out var asset))
        {
            return Results.NotFound();
        }

        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers.ETag = asset.ETag;
        if (context.Request.Headers.IfNoneMatch.ToString() == asset.ETag)
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Bytes(asset.Bytes, asset.ContentType);
    }

    /// <summary>The page <paramref name="name"/> (<c>login</c>, <c>machines</c>, ...) with <paramref name="values"/> HTML-encoded into its <c>{{key}}</c> slots.</summary>
    public IResult Page(string name, IReadOnlyDictionary<string, string> values, int status = StatusCodes.Status200OK)
    {
        if (!_assets.TryGetValue($"pages/{name}.html", out var page))
        {
            throw new InvalidOperationException($"the console page {name} is not embedded: the server was built without its web assets");
        }

        var html = new StringBuilder(Encoding.UTF8.GetString(page.Bytes));
        foreach (var (key, value) in values)
        {
            html.Replace("{{" + key + "}}", HtmlEncoder.Default.Encode(value));
        }

        return Results.Content(html.ToString(), page.ContentType, Encoding.UTF8, status);
    }

    private sealed record Asset(byte[] Bytes, string ContentType, string ETag);
}
