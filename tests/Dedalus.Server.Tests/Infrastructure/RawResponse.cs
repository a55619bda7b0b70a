using System.Text;
using System.Text.Json;
using Dedalus.Contracts;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>An HTTP/1.1 answer as it came off the socket: status, headers (last value wins), the de-chunked body.</summary>
public sealed record RawResponse(int Status, IReadOnlyDictionary<string, string> Headers, byte[] Body, byte[] Raw)
{
    public string BodyText => Encoding.UTF8.GetString(Body);

    public string? ContentType => Headers.TryGetValue("Content-Type", out var value) ? value : null;

    /// <summary>Whether the answer is the DCS envelope (application/json with an error_code and a message).</summary>
    public bool TryReadEnvelope(out ErrorEnvelope? error)
    {
        error = null;
        if (ContentType is null || !ContentType.StartsWith("application/json", StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            error = JsonSerializer.Deserialize(Body, DedalusJsonContext.Default.ErrorEnvelope);
        }
        catch (JsonException)
        {
            return false;
        }

        return error is { ErrorCode.Length: > 0, Message.Length: > 0 };
    }

    public override string ToString()
    {
        var head = Encoding.Latin1.GetString(Raw[..Math.Min(Raw.Length, 80)]).Split("\r\n")[0];
        return $"{head} [{ContentType}] {(BodyText.Length > 240 ? BodyText[..240] + "..." : BodyText)}";
    }
}
