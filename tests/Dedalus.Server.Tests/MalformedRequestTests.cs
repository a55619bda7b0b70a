using System.Text;
using Dedalus.Contracts;
using Dedalus.Server.Http;
using Dedalus.Server.Tests.Infrastructure;

namespace Dedalus.Server.Tests;

/// <summary>
/// Issue #10, point 6: which malformed requests Kestrel answers itself (a bare status, no body: no code of ours runs)
/// and which reach the server's code (every one of those answers in the DCS envelope). Both lists are asserted exactly,
/// over a bare socket, so that a request moving from one side to the other shows up; the server's README lists the first.
/// </summary>
public sealed class MalformedRequestTests : ServerTestBase
{
    /// <summary>Refused by Kestrel before any middleware: the status, an empty body, no envelope.</summary>
    public static TheoryData<string> KestrelCases => [.. KestrelAnswers.Keys];

    /// <summary>Reach our code: the status and the envelope's error code.</summary>
    public static TheoryData<string> ServerCases => [.. ServerAnswers.Keys];

    private static readonly Dictionary<string, (Func<string, string> Request, int Status)> KestrelAnswers = new()
    {
        ["HTTP/0.9 request line (no version)"] = (_ => ("GET /\r\n"), 400),
        ["request line that is no request line"] = (_ => ("GARBAGE\r\n\r\n"), 400),
        ["two spaces after the method"] = (k => Line("GET  /v1/machines HTTP/1.1", k), 400),
        ["tab between target and version"] = (k => Line("GET /v1/machines\tHTTP/1.1", k), 400),
        ["space inside the target"] = (k => Line("GET /v1/ma chines HTTP/1.1", k), 400),
        ["space before the method"] = (k => Line(" GET /v1/machines HTTP/1.1", k), 400),
        ["target without a leading slash"] = (k => Line("GET v1/machines HTTP/1.1", k), 400),
        ["raw NUL in the path"] = (k => Line("GET /v1/machines/a\0b HTTP/1.1", k), 400),
        ["percent-encoded NUL in the path"] = (k => Line("GET /v1/machines/a%00b HTTP/1.1", k), 400),
        ["raw UTF-8 in the path"] = (k => Line("GET /v1/machines/\u00c3\u00a9 HTTP/1.1", k), 400),
        ["raw 0xFF in the path"] = (k => Line("GET /v1/machines/\u00ff HTTP/1.1", k), 400),
        ["raw NUL in the query"] = (k => Line("GET /v1/machines?limit=\0 HTTP/1.1", k), 400),
        ["raw 0xFF in the query"] = (k => Line("GET /v1/machines?limit=\u00ff HTTP/1.1", k), 400),
        ["NUL in a header value"] = (k => Line("GET /v1/machines HTTP/1.1", k, "X-Note: a\0b"), 400),
        ["CR inside a header value"] = (k => Line("GET /v1/machines HTTP/1.1", k, "X-Note: a\rb"), 400),
        ["non-ASCII header name"] = (k => Line("GET /v1/machines HTTP/1.1", k, "X-\u00c3\u00a9: a"), 400),
        ["space before a header's colon"] = (k => Line("GET /v1/machines HTTP/1.1", k, "X-Note : a"), 400),
        ["folded header line (obs-fold)"] = (k => Line("GET /v1/machines HTTP/1.1", k, "X-Note: a", " folded"), 400),
        ["request line over the limit"] = (k => Line($"GET /v1/{new string('a', HttpLimits.MaxRequestLineBytes)} HTTP/1.1", k), 414),
        ["headers over the size limit"] = (k => Line("GET /v1/machines HTTP/1.1", k, "X-Note: " + new string('a', HttpLimits.MaxRequestHeadersTotalBytes)), 431),
        ["more headers than the limit"] = (k => Line("GET /v1/machines HTTP/1.1", k, [.. Enumerable.Range(0, HttpLimits.MaxRequestHeaderCount).Select(i => $"X-Note-{i}: a")]), 431),
        ["HTTP/1.1 without Host"] = (k => ($"GET /v1/machines HTTP/1.1\r\nConnection: close\r\nAuthorization: Bearer {k}\r\n\r\n"), 400),
        ["Host that is no host"] = (k => ($"GET /v1/machines HTTP/1.1\r\nHost: a b\r\nConnection: close\r\nAuthorization: Bearer {k}\r\n\r\n"), 400),
        ["two Host headers"] = (k => Line("GET /v1/machines HTTP/1.1", k, "Host: 127.0.0.2"), 400),
        ["absolute-form target naming another host"] = (k => Line("GET http://elsewhere.test/v1/machines HTTP/1.1", k), 400),
        ["method that is no token"] = (k => Line("BR(EW /v1/machines HTTP/1.1", k), 400),
        ["Content-Length that is no number"] = (k => Line("POST /v1/machines HTTP/1.1", k, "Content-Length: abc"), 400),
        ["Content-Length too large for a number"] = (k => Line("POST /v1/machines HTTP/1.1", k, "Content-Length: 99999999999999999999"), 400),
        ["negative Content-Length"] = (k => Line("POST /v1/machines HTTP/1.1", k, "Content-Length: -1"), 400),
        ["Content-Length twice"] = (k => Line("POST /v1/machines HTTP/1.1", k, "Content-Length: 2", "Content-Length: 2") + "{}", 400),
        ["Transfer-Encoding that does not end in chunked"] = (k => Line("POST /v1/machines HTTP/1.1", k, "Transfer-Encoding: gzip"), 400),
        ["HTTP/1.2"] = (k => Line("GET /v1/machines HTTP/1.2", k), 505),
        ["HTTP/2.0 in an HTTP/1 request line"] = (k => Line("GET /v1/machines HTTP/2.0", k), 505),
        ["HTTP/0.9 as a version"] = (k => Line("GET /v1/machines HTTP/0.9", k), 505),
        ["lowercase http/1.1"] = (k => Line("GET /v1/machines http/1.1", k), 505),
        ["FOO/1.1"] = (k => Line("GET /v1/machines FOO/1.1", k), 505),
        ["HTTP/1.10"] = (k => Line("GET /v1/machines HTTP/1.10", k), 400),
        ["HTTP/3"] = (k => Line("GET /v1/machines HTTP/3", k), 400),
        ["asterisk-form target with GET"] = (k => Line("GET * HTTP/1.1", k), 405),
        ["CONNECT with an authority-form target"] = (k => Line("CONNECT 127.0.0.1:22 HTTP/1.1", k), 400),
    };

    private static readonly Dictionary<string, (Func<string, string> Request, int Status, string ErrorCode)> ServerAnswers = new()
    {
        ["unknown method"] = (k => Line("BREW /v1/machines HTTP/1.1", k), 405, ErrorCodes.InvalidRequest),
        ["percent-encoded invalid UTF-8 in the path"] = (k => Line("GET /v1/machines/%c3%28 HTTP/1.1", k), 400, ErrorCodes.InvalidRequest),
        ["percent-encoded 0xFF in the path"] = (k => Line("GET /v1/machines/%ff HTTP/1.1", k), 400, ErrorCodes.InvalidRequest),
        ["percent-encoded control character in the path"] = (k => Line("GET /v1/machines/a%01 HTTP/1.1", k), 400, ErrorCodes.InvalidRequest),
        ["raw DEL in the path"] = (k => Line("GET /v1/machines/a\u007f HTTP/1.1", k), 400, ErrorCodes.InvalidRequest),
        ["backslash in the path"] = (k => Line("GET /v1/machines\\a HTTP/1.1", k), 400, ErrorCodes.InvalidRequest),
        ["malformed percent-encoding in the path"] = (k => Line("GET /v1/machines/%zz HTTP/1.1", k), 400, ErrorCodes.InvalidRequest),
        ["dot segment in the path"] = (k => Line("GET /v1/machines/a/../b HTTP/1.1", k), 400, ErrorCodes.InvalidRequest),
        ["trailing slash"] = (k => Line("GET /v1/machines/ HTTP/1.1", k), 400, ErrorCodes.InvalidRequest),
        ["dot segment in an absolute-form target"] = (k => Line("GET http://127.0.0.1/v1/machines/a/../b HTTP/1.1", k), 400, ErrorCodes.InvalidRequest),
        ["control character in a header value"] = (k => Line("GET /v1/machines HTTP/1.1", k, "X-Note: a\u0001b"), 400, ErrorCodes.InvalidRequest),
        ["escape character in a header value"] = (k => Line("GET /v1/machines HTTP/1.1", k, "X-Note: a\u001bb"), 400, ErrorCodes.InvalidRequest),
        ["DEL in a header value"] = (k => Line("GET /v1/machines HTTP/1.1", k, "X-Note: a\u007fb"), 400, ErrorCodes.InvalidRequest),
        ["percent-encoded NUL in the query"] = (k => Line("GET /v1/machines?limit=%00 HTTP/1.1", k), 400, ErrorCodes.InvalidRequest),
        ["percent-encoded 0xFF in the query"] = (k => Line("GET /v1/machines?cursor=%ff HTTP/1.1", k), 400, ErrorCodes.InvalidRequest),
        ["non-ASCII API key"] = (_ => Line("GET /v1/machines HTTP/1.1", apiKey: null, "x-api-key: \u00c3\u00a9"), 401, ErrorCodes.AuthInvalid),
        ["chunk size that is no number"] = (k => Line("POST /v1/machines HTTP/1.1", k, "Content-Type: application/json", "Transfer-Encoding: chunked") + "zz\r\n", 400, ErrorCodes.InvalidRequest),
        ["Content-Length over the body limit"] = (k => Line("POST /v1/machines HTTP/1.1", k, "Content-Type: application/json", "Content-Length: 2000000"), 413, ErrorCodes.InvalidRequest),
        ["chunked body over the body limit"] = (k => Line("POST /v1/machines HTTP/1.1", k, "Content-Type: application/json", "Transfer-Encoding: chunked") + Chunked(RequestBody.MaxBytes + 1), 413, ErrorCodes.InvalidRequest),
        ["Transfer-Encoding and Content-Length together (chunked wins)"] = (k => Line("POST /v1/machines HTTP/1.1", k, "Content-Type: application/json", "Transfer-Encoding: chunked", "Content-Length: 5") + "0\r\n\r\n", 400, ErrorCodes.InvalidRequest),
        ["body that is not JSON"] = (k => Line("POST /v1/machines HTTP/1.1", k, "Content-Type: text/plain", "Content-Length: 6") + "vcpu=1", 415, ErrorCodes.InvalidRequest),
        ["JSON that does not parse"] = (k => Line("POST /v1/machines HTTP/1.1", k, "Content-Type: application/json", "Content-Length: 6") + "{\"vcpu", 400, ErrorCodes.InvalidRequest),
        ["OPTIONS with the asterisk-form target"] = (k => Line("OPTIONS * HTTP/1.1", k), 404, ErrorCodes.NotFound),
        ["fragment in the target"] = (k => Line("GET /v1/machines#top HTTP/1.1", k), 404, ErrorCodes.NotFound),
        ["unknown OpenAPI document"] = (k => Line("GET /openapi/v2.json HTTP/1.1", k), 404, ErrorCodes.NotFound),
    };

    [Theory]
    [MemberData(nameof(KestrelCases))]
    public async Task A_request_kestrel_refuses_itself_gets_its_bare_status_and_no_body(string name)
    {
        var (request, status) = KestrelAnswers[name];

        var response = await RawHttp.SendAsync(Server.BaseUrl, Encoding.Latin1.GetBytes(request(Api.ApiKey)));

        Assert.True(response.Status == status && response.Body.Length == 0 && response.ContentType is null, $"{name}: expected Kestrel's bare {status}, got {response}");
        Assert.Empty((await Api.GetAsync("/v1/machines")).MachineList().Items);
    }

    [Theory]
    [MemberData(nameof(ServerCases))]
    public async Task A_malformed_request_that_reaches_the_server_is_answered_in_the_envelope(string name)
    {
        var (request, status, code) = ServerAnswers[name];

        var response = await RawHttp.SendAsync(Server.BaseUrl, Encoding.Latin1.GetBytes(request(Api.ApiKey)));

        Assert.True(response.Status == status, $"{name}: expected {status}, got {response}");
        Assert.True(response.TryReadEnvelope(out var error), $"{name}: no envelope in {response}");
        Assert.Equal(code, error!.ErrorCode);
        Assert.DoesNotContain("System.", error.Message, StringComparison.Ordinal);
        Assert.Empty((await Api.GetAsync("/v1/machines")).MachineList().Items);
    }

    [Fact]
    public async Task The_http2_preface_on_the_cleartext_port_is_answered_by_kestrel_with_goaway_http_1_1_required()
    {
        var response = await RawHttp.SendAsync(Server.BaseUrl, Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));

        // RFC 9113 6.8: a frame of type GOAWAY (7) whose error code (the last 4 bytes of its 8) is HTTP_1_1_REQUIRED (0xd).
        Assert.True(response.Raw.Length >= 17, Convert.ToHexString(response.Raw));
        Assert.Equal(0x07, response.Raw[3]);
        Assert.Equal([0, 0, 0, 0x0d], response.Raw[13..17]);
    }

    /// <summary>
    /// A request line with Host, Connection: close, the key as Bearer (unless null) and <paramref name="headers"/>, up to
    /// the empty line. The text is sent as Latin-1: U+0000 to U+00FF are the bytes of the same value, so raw non-ASCII
    /// bytes are written as such (<c>\u00c3\u00a9</c> is the UTF-8 of <c>é</c>).
    /// </summary>
    private static string Line(string requestLine, string? apiKey, params string[] headers)
    {
        var text = new StringBuilder(requestLine).Append("\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        if (apiKey is not null)
        {
            text.Append("Authorization: Bearer ").Append(apiKey).Append("\r\n");
        }

        foreach (var header in headers)
        {
            text.Append(header).Append("\r\n");
        }

        return text.Append("\r\n").ToString();
    }

    private static string Chunked(int size) => $"{size:x}\r\n{new string('a', size)}\r\n0\r\n\r\n";
}
