using System.Globalization;
using System.Net;
using Dedalus.Contracts;

namespace Dedalus.Client.Http;

/// <summary>
/// When and how long to wait before a retry, as the official SDKs do: connection errors, 408, 429, 5xx
/// and 409s whose envelope says <c>retryable</c>; <c>x-should-retry</c> overrides; server hints
/// (<c>Retry-After-Ms</c>, body <c>retry_after_ms</c>, <c>Retry-After</c>) up to 60 s, else
/// 0.5 s * 2^n capped at 8 s with up to 25 % jitter.
/// </summary>
internal static class RetryPolicy
{
    private static readonly TimeSpan MaxHint = TimeSpan.FromSeconds(60);

    public static bool ShouldRetry(HttpResponseMessage response, ErrorEnvelope? envelope)
    {
        if (response.Headers.TryGetValues("x-should-retry", out var values))
        {
            var value = values.FirstOrDefault();
            if (string.Equals(value, "true", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            if (string.Equals(value, "false", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        var status = (int)response.StatusCode;
        return status switch
        {
            (int)HttpStatusCode.RequestTimeout or (int)HttpStatusCode.TooManyRequests => true,
            (int)HttpStatusCode.Conflict => envelope?.Retryable == true,
            >= 500 => true,
            _ => false,
        };
    }

    public static TimeSpan Delay(HttpResponseMessage response, ErrorEnvelope? envelope, int attempt)
    {
        if (response.Headers.TryGetValues("Retry-After-Ms", out var msValues)
            && double.TryParse(msValues.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms)
            && Valid(TimeSpan.FromMilliseconds(ms)))
        {
            return TimeSpan.FromMilliseconds(ms);
        }

        if (envelope?.RetryAfterMs is { } bodyMs && Valid(TimeSpan.FromMilliseconds(bodyMs)))
        {
            return TimeSpan.FromMilliseconds(bodyMs);
        }

        if (response.Headers.RetryAfter is { } retryAfter)
        {
            var hinted = retryAfter.Delta ?? (retryAfter.Date is { } date ? date - DateTimeOffset.UtcNow : null);
            if (hinted is { } delay && Valid(delay))
            {
                return delay;
            }
        }

        return Backoff(attempt);
    }

    /// <summary>0.5 s * 2^attempt, capped at 8 s, minus up to 25 % jitter.</summary>
    public static TimeSpan Backoff(int attempt)
    {
        var seconds = Math.Min(0.5 * Math.Pow(2, Math.Min(attempt, 10)), 8.0);
        var jitter = 1 - (Random.Shared.NextDouble() * 0.25);
        return TimeSpan.FromSeconds(seconds * jitter);
    }

    private static bool Valid(TimeSpan delay) => delay > TimeSpan.Zero && delay <= MaxHint;
}
