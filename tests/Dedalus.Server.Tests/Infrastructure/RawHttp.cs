using System.Net.Sockets;
using System.Text;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>
/// HTTP/1.1 over a bare TCP socket: the request goes out byte for byte, as written. HttpClient and System.Uri would
/// remove dot segments and re-encode the target, which is exactly what the edge tests must not have done for them.
/// </summary>
public static class RawHttp
{
    /// <summary>
    /// A request with <c>Host</c>, <c>Connection: close</c>, the API key as Bearer (when given), and a JSON body with its
    /// length (when given); <paramref name="headers"/> are added as they are (each a whole header line without CRLF).
    /// </summary>
    public static byte[] Request(string method, string target, string? apiKey, string? jsonBody = null, params string[] headers)
    {
        var text = new StringBuilder();
        text.Append(method).Append(' ').Append(target).Append(" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        if (apiKey is not null)
        {
            text.Append("Authorization: Bearer ").Append(apiKey).Append("\r\n");
        }

        foreach (var header in headers)
        {
            text.Append(header).Append("\r\n");
        }

        var body = jsonBody is null ? [] : Encoding.UTF8.GetBytes(jsonBody);
        if (jsonBody is not null)
        {
            text.Append("Content-Type: application/json\r\nContent-Length: ").Append(body.Length).Append("\r\n");
        }
        else if (method is "POST" or "PATCH" or "PUT")
        {
            text.Append("Content-Length: 0\r\n");
        }

        text.Append("\r\n");
        return [.. Encoding.Latin1.GetBytes(text.ToString()), .. body];
    }

    /// <summary>Sends <paramref name="request"/> to the server at <paramref name="baseUrl"/> and reads until it closes the connection.</summary>
    public static async Task<RawResponse> SendAsync(string baseUrl, byte[] request)
    {
        var uri = new Uri(baseUrl);
        using var cts = new CancellationTokenSource(RunningServer.Timeout);
        using var client = new TcpClient();
        await client.ConnectAsync(uri.Host, uri.Port, cts.Token);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(request, cts.Token);
            await stream.FlushAsync(cts.Token);
        }
        catch (IOException)
        {
            // The server answered and closed before taking the whole request (a body over the limit): read the answer.
        }

        using var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cts.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (IOException) when (received.Length > 0)
        {
            // The server reset the connection after answering (it refused the rest of the request): the answer is in.
        }

        return Parse(received.ToArray());
    }

    /// <summary>Parses an HTTP/1.1 answer; an answer that is no HTTP/1.x (an HTTP/2 frame) has status 0 and only <see cref="RawResponse.Raw"/>.</summary>
    public static RawResponse Parse(byte[] raw)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var text = Encoding.Latin1.GetString(raw);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (!text.StartsWith("HTTP/1.", StringComparison.Ordinal) || end < 0)
        {
            return new RawResponse(0, headers, [], raw);
        }

        var lines = text[..end].Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        var body = raw[(end + 4)..];
        if (headers.TryGetValue("Transfer-Encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Dechunk(body);
        }

        return new RawResponse(status, headers, body, raw);
    }

    private static byte[] Dechunk(byte[] chunked)
    {
        using var body = new MemoryStream();
        var position = 0;
        while (position < chunked.Length)
        {
            var lineEnd = Array.IndexOf(chunked, (byte)'\n', position);
            if (lineEnd < 0)
            {
                break;
            }

            var sizeText = Encoding.ASCII.GetString(chunked, position, lineEnd - position).Trim().Split(';')[0];
            var size = Convert.ToInt32(sizeText, 16);
            if (size == 0)
            {
                break;
            }

            body.Write(chunked, lineEnd + 1, size);
            position = lineEnd + 1 + size + 2;
        }

        return body.ToArray();
    }
}
