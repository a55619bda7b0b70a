using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Dedalus.Contracts;

namespace Dedalus.Client;

public sealed partial class ExecutionsResource
{
    /// <summary>
    /// Reads an execution's log from the log-read service with a token from <see cref="CreateLogTokenAsync"/>
    /// (<c>GET {base_url}/streams/{stream_id}?after=N</c>, newline-delimited JSON): every event after
    /// <paramref name="after"/>, following live until the execution ends. Only the token is sent there, never this
    /// client's API key: whoever holds a token (and only that) reads the one stream it names.
    /// </summary>
    /// <param name="token">The read token; its <c>base_url</c> must be an absolute http(s) URL.</param>
    /// <param name="after">Yield only events whose <c>sequence</c> is greater (0: from the first event).</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>
    /// The events in <c>sequence</c> order. The service also ends the stream when the token expires: a reader that has
    /// not seen the final <c>lifecycle</c> event resumes with a new token and <paramref name="after"/> = the last sequence.
    /// </returns>
    /// <exception cref="ArgumentException">The token's fields cannot make a request (a server bug or a hand-made token).</exception>
    public IAsyncEnumerable<ExecutionEvent> ReadLogStreamAsync(ExecutionLogToken token, long after = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentOutOfRangeException.ThrowIfNegative(after);
        if (!Uri.TryCreate(token.BaseUrl, UriKind.Absolute, out var baseUrl) || (baseUrl.Scheme != Uri.UriSchemeHttp && baseUrl.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(baseUrl.Query) || !string.IsNullOrEmpty(baseUrl.Fragment))
        {
            throw new ArgumentException($"the token's base_url '{IdText.Shown(token.BaseUrl ?? string.Empty)}' is not an http(s) URL without a query", nameof(token));
        }

        if (!ExecutionIdShape.IsWellFormed(token.StreamId))
        {
            throw new ArgumentException($"the token's stream_id '{IdText.Shown(token.StreamId ?? string.Empty)}' is not one path segment of letters, digits, '-' and '_'", nameof(token));
        }

        if (string.IsNullOrWhiteSpace(token.AccessToken) || token.AccessToken.Any(char.IsControl) || token.AccessToken.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException("the token's access_token is empty or not one word; it cannot be sent as a bearer token", nameof(token));
        }

        var uri = new Uri(
            baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/streams/" + token.StreamId + "?after=" + after.ToString(CultureInfo.InvariantCulture),
            UriKind.Absolute);
        return ReadLogAsync(uri, token.AccessToken, after, cancellationToken);
    }

    private async IAsyncEnumerable<ExecutionEvent> ReadLogAsync(Uri uri, string accessToken, long after, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var response = await _requester.OpenBearerStreamAsync(uri, accessToken, "application/x-ndjson", cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var last = after;
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                ExecutionEvent? item;
                try
                {
                    item = JsonSerializer.Deserialize(line, DedalusJsonContext.Default.ExecutionEvent);
                }
                catch (JsonException e)
                {
                    throw new DedalusException($"the log-read service sent a line that is not an execution event ({e.Message})", e);
                }

                // Each event once and in order, whatever the service repeats.
                if (item is not null && item.Sequence > last)
                {
                    last = item.Sequence;
                    yield return item;
                }
            }
        }
    }
}
