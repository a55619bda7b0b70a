using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Dedalus.Server.Http;

/// <summary>
/// The limits Kestrel enforces before any of our code runs, set here so that they are a decision rather than a default
/// of the framework's version. A request beyond one is answered by Kestrel itself, without the DCS envelope: 414 for
/// the request line, 431 for the headers, 408 when the headers are too slow (the server's README lists every such
/// answer). Kestrel stops bodies above <see cref="RequestBody.MaxAnyBytes"/>; the limit of each request (<see cref="RequestBody.LimitOf"/>) is ours to check, and our code reports it as a 413 in the envelope.
/// </summary>
public static class HttpLimits
{
    /// <summary>The longest request line (method, target, version), in bytes; more is a 414 from Kestrel.</summary>
    public const int MaxRequestLineBytes = 8 * 1024;

    /// <summary>The most bytes of all request headers together; more is a 431 from Kestrel.</summary>
    public const int MaxRequestHeadersTotalBytes = 32 * 1024;

    /// <summary>The most request headers; more is a 431 from Kestrel.</summary>
    public const int MaxRequestHeaderCount = 100;

    /// <summary>How long a client may take to send the request line and headers; longer is a 408 from Kestrel.</summary>
    public static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Applies the limits (and no <c>Server</c> header) to Kestrel.</summary>
    public static void Apply(KestrelServerOptions kestrel)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        kestrel.AddServerHeader = false;
        kestrel.Limits.MaxRequestLineSize = MaxRequestLineBytes;
        kestrel.Limits.MaxRequestHeadersTotalSize = MaxRequestHeadersTotalBytes;
        kestrel.Limits.MaxRequestHeaderCount = MaxRequestHeaderCount;
        kestrel.Limits.RequestHeadersTimeout = RequestHeadersTimeout;
        kestrel.Limits.MaxRequestBodySize = RequestBody.MaxAnyBytes;
    }
}
