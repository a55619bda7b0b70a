using System.Globalization;
using System.Text;

namespace Dedalus.Server.Http;

/// <summary>
/// Checks the request target as the client sent it, before Kestrel's decoding and dot-segment removal decide what it
/// names. Kestrel turns <c>/v1/machines/{id}/ssh/..</c> (also <c>%2e%2e</c>, and the path of an absolute-form
/// target) into <c>/v1/machines/{id}</c> before routing sees it, so a request that names no resource would act on
/// another. No id of this API is empty, holds a slash or a backslash, a control character, or is <c>.</c> or
/// <c>..</c>, so a path with any of those names nothing and is refused as it came.
/// </summary>
public static class RequestTarget
{
    private const int QuoteLength = 64;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// What is wrong with the path of <paramref name="rawTarget"/> (origin-form <c>/path?query</c>, or the path of an
    /// absolute-form <c>http://host/path?query</c>), as a sentence for the error message; <see langword="null"/> when
    /// nothing is. The asterisk-form (<c>OPTIONS *</c>) and the query are not checked here: routing and the handlers
    /// answer them.
    /// </summary>
    /// <remarks>
    /// Refused: a segment that is <c>.</c> or <c>..</c> once percent-decoded (<c>%2e%2e</c>, <c>.%2E</c>, any case);
    /// an encoded slash or backslash (<c>%2F</c>, <c>%5C</c>); a backslash; an empty segment (<c>//</c>) or a trailing
    /// <c>/</c> (<c>/v1/machines/</c> is refused rather than read as <c>/v1/machines</c>: an empty id at the end of a
    /// path must not turn one operation into another); a control character after decoding; a <c>%</c> without two hex
    /// digits; decoded bytes that are not UTF-8; a character that is not ASCII (Kestrel refuses those bytes in an
    /// HTTP/1.1 request line before we see it). The root path <c>/</c> is fine.
    /// </remarks>
    public static string? FindProblem(string? rawTarget)
    {
        var path = PathOf(rawTarget);
        if (path.Length <= 1)
        {
            return null;
        }

        var segments = path[1..].ToString().Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            if (FindSegmentProblem(segments[i], isLast: i == segments.Length - 1) is { } problem)
            {
                return problem;
            }
        }

        return null;
    }

    /// <summary>The path of an origin-form or absolute-form target, without the query; empty for any other form.</summary>
    private static ReadOnlySpan<char> PathOf(string? rawTarget)
    {
        if (string.IsNullOrEmpty(rawTarget))
        {
            return [];
        }

        var target = rawTarget.AsSpan();
        if (target[0] != '/')
        {
            // absolute-form: scheme "://" authority path-abempty [ "?" query ]
            var scheme = target.IndexOf("://", StringComparison.Ordinal);
            if (scheme <= 0)
            {
                return [];
            }

            target = target[(scheme + 3)..];
            var pathStart = target.IndexOfAny('/', '?');
            if (pathStart < 0 || target[pathStart] != '/')
            {
                return [];
            }

            target = target[pathStart..];
        }

        var query = target.IndexOf('?');
        return query < 0 ? target : target[..query];
    }

    private static string? FindSegmentProblem(string segment, bool isLast)
    {
        if (segment.Length == 0)
        {
            return isLast
                ? "the request path ends with '/'; send it without the trailing slash (no resource id is empty)"
                : "the request path contains an empty segment ('//'); no resource id is empty";
        }

        if (segment.Contains('\\', StringComparison.Ordinal))
        {
            return $"the request path contains a backslash ('{Quote(segment)}'); resource ids never contain backslashes";
        }

        var bytes = new byte[segment.Length];
        var length = 0;
        for (var i = 0; i < segment.Length; i++)
        {
            var c = segment[i];
            if (c >= 0x80)
            {
                return $"the request path contains a character that is not ASCII in '{Quote(segment)}'; percent-encode it";
            }

            if (c != '%')
            {
                bytes[length++] = (byte)c;
                continue;
            }

            if (i + 2 >= segment.Length || !byte.TryParse(segment.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
            {
                return $"the request path has a '%' that does not start a percent-encoded byte in '{Quote(segment)}'; write it as %25";
            }

            switch (value)
            {
                case (byte)'/':
                    return $"the request path contains an encoded slash ('{Quote(segment)}'); resource ids never contain slashes";
                case (byte)'\\':
                    return $"the request path contains an encoded backslash ('{Quote(segment)}'); resource ids never contain backslashes";
            }

            bytes[length++] = value;
            i += 2;
        }

        string decoded;
        try
        {
            decoded = StrictUtf8.GetString(bytes, 0, length);
        }
        catch (DecoderFallbackException)
        {
            return $"the request path has percent-encoded bytes that are not UTF-8 in '{Quote(segment)}'";
        }

        foreach (var c in decoded)
        {
            if (char.IsControl(c))
            {
                return $"the request path contains a control character (U+{(int)c:X4}) in '{Quote(segment)}'; resource ids are printable";
            }
        }

        return decoded is "." or ".."
            ? $"the request path contains a dot segment ('{Quote(segment)}'); resource ids never contain dots"
            : null;
    }

    /// <summary>A segment for a message: at most <see cref="QuoteLength"/> characters, control characters as '?'.</summary>
    private static string Quote(string segment)
    {
        var clean = new string([.. segment.Take(QuoteLength).Select(c => char.IsControl(c) ? '?' : c)]);
        return segment.Length > QuoteLength ? clean + "..." : clean;
    }
}
