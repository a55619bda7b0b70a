using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dedalus.Cli;

/// <summary>
/// <c>--debug</c>: each HTTP request and its answer on stderr, as lines starting <c>dedalus: debug</c>: method and URL,
/// headers, a JSON body (at most <see cref="MaxBody"/> characters), then the status, the time it took, headers and a
/// JSON body. Credentials never appear: <c>Authorization</c> and <c>x-api-key</c> show their first characters only,
/// and the values of <c>env</c> (an execution's environment) and of token fields in bodies are replaced. A streamed
/// answer (server-sent events, a log stream) is not read here: its body belongs to the command.
/// </summary>
internal sealed class DebugLog(HttpMessageHandler inner, TextWriter error) : DelegatingHandler(inner)
{
    /// <summary>The longest body shown; the rest is cut with a note of the full length.</summary>
    public const int MaxBody = 2048;

    private static readonly string[] SecretHeaders = ["Authorization", "x-api-key"];
    private static readonly string[] SecretFields = ["access_token", "api_key", "token", "password", "secret"];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var lines = new List<string> { $"> {request.Method} {request.RequestUri}" };
        AddHeaders(lines, ">", request.Headers, request.Content?.Headers);
        if (request.Content is not null)
        {
            AddBody(lines, ">", await request.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        }

        Write(lines);
        var started = Stopwatch.GetTimestamp();
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            Write([$"< {request.Method} {request.RequestUri} failed after {Elapsed(started)}: {e.GetType().Name}: {e.Message}"]);
            throw;
        }

        lines = [$"< {(int)response.StatusCode} {response.ReasonPhrase} ({Elapsed(started)}) {request.Method} {request.RequestUri}"];
        AddHeaders(lines, "<", response.Headers, response.Content.Headers);
        if (IsJson(response.Content.Headers.ContentType))
        {
            // A JSON answer is small and read whole by the SDK anyway: buffering it here changes nothing for the caller.
            await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
            AddBody(lines, "<", await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        }
        else if (response.Content.Headers.ContentType is { } type)
        {
            lines.Add($"< (body of type {type.MediaType} not shown)");
        }

        Write(lines);
        return response;
    }

    private static bool IsJson(MediaTypeHeaderValue? type) =>
        type?.MediaType is { } media && (media.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.EndsWith("+json", StringComparison.OrdinalIgnoreCase));

    private static string Elapsed(long started) => $"{Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms";

    private static void AddHeaders(List<string> lines, string direction, HttpHeaders headers, HttpHeaders? contentHeaders)
    {
        foreach (var (name, values) in headers.Concat(contentHeaders ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>()))
        {
            var value = string.Join(", ", values);
            lines.Add($"{direction}   {name}: {(SecretHeaders.Contains(name, StringComparer.OrdinalIgnoreCase) ? RedactHeader(value) : value)}");
        }
    }

    /// <summary>A credential header: its scheme and the first 6 characters of the credential.</summary>
    internal static string RedactHeader(string value)
    {
        var space = value.IndexOf(' ', StringComparison.Ordinal);
        var (scheme, credential) = space > 0 ? (value[..(space + 1)], value[(space + 1)..]) : (string.Empty, value);
        return scheme + Configuration.ResolvedSettings.Redact(credential) + " (redacted)";
    }

    private static void AddBody(List<string> lines, string direction, string body)
    {
        if (body.Length == 0)
        {
            return;
        }

        var shown = RedactBody(body);
        if (shown.Length > MaxBody)
        {
            shown = shown[..MaxBody] + $"... ({body.Length} characters in all)";
        }

        lines.Add($"{direction}   {shown.ReplaceLineEndings(" ")}");
    }

    /// <summary>A JSON body with secrets replaced (<c>env</c> values, token fields); any other text as it is.</summary>
    internal static string RedactBody(string body)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            return body;
        }

        Redact(node);
        return node?.ToJsonString() ?? body;
    }

    private static void Redact(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, value) in obj.ToList())
                {
                    if (name == "env" && value is JsonObject env)
                    {
                        foreach (var key in env.Select(p => p.Key).ToList())
                        {
                            env[key] = "(redacted)";
                        }
                    }
                    else if (SecretFields.Contains(name, StringComparer.OrdinalIgnoreCase) && value is JsonValue)
                    {
                        obj[name] = "(redacted)";
                    }
                    else
                    {
                        Redact(value);
                    }
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    Redact(item);
                }

                break;
        }
    }

    private void Write(List<string> lines)
    {
        var text = new StringBuilder();
        foreach (var line in lines)
        {
            text.Append("dedalus: debug ").Append(line).Append('\n');
        }

        lock (error)
        {
            error.Write(text.ToString());
            error.Flush();
        }
    }
}
