using System.Net;
using System.Text.Json;
using Dedalus.Contracts;

namespace Dedalus.Client.Http;

/// <summary>Reads the DCS error envelope (or an RFC 9457 problem) and picks the typed exception.</summary>
internal static class ErrorMapper
{
    public static ErrorEnvelope? ParseBody(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            if (root.TryGetProperty("error_code", out _) || root.TryGetProperty("message", out _))
            {
                return root.Deserialize(DedalusJsonContext.Default.ErrorEnvelope);
            }

            // RFC 9457 problem details.
            var detail = root.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
            var title = root.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            return detail is null && title is null ? null : new ErrorEnvelope(string.Empty, detail ?? title!, false);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static DedalusApiException ToException(HttpStatusCode status, ErrorEnvelope? envelope)
    {
        var error = new DedalusApiError(
            status,
            string.IsNullOrEmpty(envelope?.ErrorCode) ? null : envelope.ErrorCode,
            string.IsNullOrWhiteSpace(envelope?.Message) ? $"the server answered HTTP {(int)status} ({status})" : envelope.Message,
            envelope?.Retryable ?? false,
            envelope?.RetryAfterMs,
            envelope?.Details);
        return (int)status switch
        {
            401 or 403 => new DedalusAuthenticationException(error),
            404 => new DedalusNotFoundException(error),
            409 => new DedalusConflictException(error),
            429 => new DedalusRateLimitException(error),
            >= 500 => new DedalusServerException(error),
            _ => new DedalusApiException(error),
        };
    }
}
