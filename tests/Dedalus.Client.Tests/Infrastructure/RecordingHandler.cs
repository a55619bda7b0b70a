using System.Net;
using System.Text;

namespace Dedalus.Client.Tests.Infrastructure;

/// <summary>
/// An in-process HttpMessageHandler that records each request (method, path and query as sent, headers, body) and
/// answers with a canned status and JSON body: the request shape of routes the server does not have yet.
/// </summary>
public sealed class RecordingHandler(HttpStatusCode status = HttpStatusCode.OK, string body = "{}") : HttpMessageHandler
{
    public List<Recorded> Requests { get; } = [];

    public HttpStatusCode Status { get; set; } = status;

    public string Body { get; set; } = body;

    /// <summary>A client over this handler, with no retries and nothing taken from the environment.</summary>
    public DedalusClient CreateClient() =>
        new(new DedalusClientOptions { BaseUrl = new Uri("http://dedalus.test/"), ApiKey = "test-key", MaxRetries = 0, ReadEnvironment = false }, new HttpClient(this));

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var content = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        Requests.Add(new Recorded(
            request.Method.Method,
            request.RequestUri!.PathAndQuery,
            request.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase),
            content,
            request.Content?.Headers.ContentType?.MediaType));
        return new HttpResponseMessage(Status) { Content = new StringContent(Body, Encoding.UTF8, "application/json"), RequestMessage = request };
    }

    public sealed record Recorded(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, string? Body, string? ContentType)
    {
        public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
    }
}
