using System.Globalization;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.Server.Errors;
using Dedalus.Server.Store;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Dedalus.Server.Executions.Api;

/// <summary>
/// The log-read service: <c>GET /logs/v1/streams/{stream_id}[?after=N]</c> with <c>Authorization: Bearer &lt;read
/// token&gt;</c> streams the execution's events as NDJSON (one <see cref="ExecutionEvent"/> per line, in sequence
/// order, from after <c>N</c>), following them live until the execution has ended and every event was sent. Only a
/// genuine token for that very stream, unexpired and of the execution's current epoch, opens it; an API key does not.
/// The stream also ends when the token expires (a client resumes with a new token and <c>after</c>).
/// </summary>
internal static class LogStream
{
    private const int PageSize = 500;
    private static readonly TimeSpan Recheck = TimeSpan.FromSeconds(1);

    public static async Task StreamAsync(HttpContext context, string streamId, ExecutionLogTokens tokens, IStore store, ExecutionService executions, TimeProvider timeProvider)
    {
        if (!ExecutionIds.IsWellFormedStream(streamId))
        {
            throw DomainException.NotFound(NotFoundResources.LogStream, $"log stream {(streamId.Length <= 64 ? streamId : streamId[..64] + "...")} not found: stream ids are ls- and 32 hex digits");
        }

        var token = BearerToken(context.Request);
        var claim = tokens.Read(token, streamId);
        var execution = claim is { } c ? await store.GetExecutionAsync(c.ExecutionId, context.RequestAborted) : null;
        if (claim is null || execution is null || execution.StreamId != streamId || execution.TokenEpoch != claim.Value.Epoch)
        {
            throw new DomainException(
                token is null ? ErrorKind.AuthenticationRequired : ErrorKind.AuthenticationFailed,
                token is null
                    ? "a read token is required: Authorization: Bearer <access_token from POST .../executions/{execution_id}/logs/token>"
                    : "the read token is not valid for this stream: it expired, was revoked (logs/reauthorize), or is for another stream; create a new one");
        }

        long after = 0;
        var afterText = context.Request.Query["after"];
        if (afterText.Count > 0 && !string.IsNullOrEmpty(afterText[0]) && !long.TryParse(afterText[0], NumberStyles.None, CultureInfo.InvariantCulture, out after))
        {
            throw DomainException.InvalidRequest("after must be a whole number (the sequence of the last event read)", "after");
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/x-ndjson; charset=utf-8";
        context.Response.Headers[HeaderNames.CacheControl] = "no-store";
        await context.Response.StartAsync(context.RequestAborted);
        var expires = claim.Value.ExpiresAt;
        while (!context.RequestAborted.IsCancellationRequested && timeProvider.GetUtcNow() < expires)
        {
            var waitMs = (int)Math.Min(Recheck.TotalMilliseconds, Math.Max(0, (expires - timeProvider.GetUtcNow()).TotalMilliseconds));
            IReadOnlyList<ExecutionEventRecord> events;
            bool more;
            try
            {
                (events, more) = await executions.ReadEventsAsync(execution, after, PageSize, waitMs, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            foreach (var e in events)
            {
                await JsonSerializer.SerializeAsync(context.Response.Body, ExecutionMapper.ToContract(e), DedalusJsonContext.Default.ExecutionEvent, context.RequestAborted);
                await context.Response.Body.WriteAsync("\n"u8.ToArray(), context.RequestAborted);
                after = e.Sequence;
            }

            await context.Response.Body.FlushAsync(context.RequestAborted);
            if (!more && events.Count == 0)
            {
                return;
            }

            // A token revoked meanwhile stops the stream at once.
            if ((await store.GetExecutionAsync(execution.Id, context.RequestAborted))?.TokenEpoch != claim.Value.Epoch)
            {
                return;
            }
        }
    }

    private static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.FirstOrDefault();
        return header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.Length > 7 ? header[7..].Trim() : null;
    }
}
