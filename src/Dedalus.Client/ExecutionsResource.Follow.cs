using System.Net;
using System.Runtime.CompilerServices;
using Dedalus.Contracts;

namespace Dedalus.Client;

public sealed partial class ExecutionsResource
{
    /// <summary>The longest this client asks the server to hold an empty events page (this server allows 30 s).</summary>
    private static readonly TimeSpan LongestLongPoll = TimeSpan.FromSeconds(20);

    /// <summary>The pace of polling when a server answers an empty page at once (it does not know <c>wait_ms</c>).</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Follows an execution's events as they happen: every event with a <c>sequence</c> above <paramref name="after"/>,
    /// each exactly once and in order, until the execution has finished and every event was read. Pages with the
    /// events cursor; while the execution runs, each request asks this server to hold an empty page until the next
    /// event comes (<c>wait_ms</c>, a long poll), so output arrives as it is written without busy polling. A server that
    /// does not hold requests is polled every half second instead.
    /// </summary>
    /// <remarks>
    /// The contract's events cursor is opaque, so a follow that starts after a given sequence still pages from the first
    /// event and skips the ones already seen. Breaking out of the loop stops following; the execution keeps running.
    /// </remarks>
    /// <param name="machineId">The machine id.</param>
    /// <param name="executionId">The execution id.</param>
    /// <param name="after">Yield only events whose <c>sequence</c> is greater (0: from the first event).</param>
    /// <param name="cancellationToken">Stops following (the execution keeps running).</param>
    /// <returns>The events, in <c>sequence</c> order; the last one is the final <c>lifecycle</c> event.</returns>
    /// <exception cref="ArgumentException">An id is not of the expected shape, or <paramref name="after"/> is negative.</exception>
    public IAsyncEnumerable<ExecutionEvent> FollowEventsAsync(
        string machineId,
        string executionId,
        long after = 0,
        CancellationToken cancellationToken = default)
    {
        // Checked here, not at the first MoveNextAsync: a wrong id fails the call that names it.
        _ = ExecutionPath(machineId, executionId);
        ArgumentOutOfRangeException.ThrowIfNegative(after);
        return FollowAsync(machineId, executionId, after, cancellationToken);
    }

    private async IAsyncEnumerable<ExecutionEvent> FollowAsync(
        string machineId,
        string executionId,
        long after,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var time = _requester.TimeProvider;
        var waitMs = LongPollMs(_requester.Options.Timeout);
        var last = after;
        var finalSeen = false;
        var lastPass = false;
        string? cursor = null;
        while (true)
        {
            var started = time.GetTimestamp();
            ExecutionEventList page;
            try
            {
                page = await ListEventsAsync(machineId, executionId, null, cursor, waitMs, cancellationToken).ConfigureAwait(false);
            }
            catch (DedalusApiException e) when (waitMs is not null && IsRefusedWaitParameter(e))
            {
                // wait_ms is this server's extension: a server that refuses it is polled without it.
                waitMs = null;
                continue;
            }

            foreach (var item in page.Items ?? [])
            {
                if (item.Type == ExecutionEventTypes.Lifecycle && item.Status is { } status && ExecutionStatuses.IsFinished(status))
                {
                    finalSeen = true;
                }

                if (item.Sequence <= last)
                {
                    continue;
                }

                last = item.Sequence;
                yield return item;
            }

            if (string.IsNullOrEmpty(page.NextCursor))
            {
                // Everything stored was read. With this server that also means the execution finished; a server that
                // ends the pages of a live execution is asked, and its events are read again from the start (those seen
                // are skipped) until it has finished, then once more for any that came with its end.
                if (finalSeen || lastPass)
                {
                    yield break;
                }

                var execution = await GetAsync(machineId, executionId, cancellationToken).ConfigureAwait(false);
                if (ExecutionStatuses.IsFinished(execution.Status))
                {
                    lastPass = true;
                }
                else
                {
                    await Task.Delay(PollDelay(execution), time, cancellationToken).ConfigureAwait(false);
                }

                cursor = null;
                continue;
            }

            if (page.Items is not { Count: > 0 } && (waitMs is null || time.GetElapsedTime(started) < TimeSpan.FromMilliseconds(waitMs.Value / 2.0)))
            {
                // Nothing new and the server did not hold the request: poll at a modest pace rather than in a tight loop.
                await Task.Delay(PollInterval, time, cancellationToken).ConfigureAwait(false);
            }

            cursor = page.NextCursor;
        }
    }

    /// <summary>How long to ask the server to hold an empty page: well within one attempt's time limit.</summary>
    private static int? LongPollMs(TimeSpan attemptTimeout)
    {
        var wait = attemptTimeout <= TimeSpan.Zero ? LongestLongPoll : TimeSpan.FromTicks(Math.Min(LongestLongPoll.Ticks, attemptTimeout.Ticks / 2));
        return wait >= TimeSpan.FromMilliseconds(100) ? (int)wait.TotalMilliseconds : null;
    }

    private static bool IsRefusedWaitParameter(DedalusApiException e) =>
        e.StatusCode == HttpStatusCode.BadRequest
        && e.Details.TryGetValue(ErrorDetailKeys.Field, out var field)
        && field == "wait_ms";

    /// <summary>The server's <c>retry_after_ms</c> when it is a sane delay, else half a second.</summary>
    private static TimeSpan PollDelay(Execution execution) => execution.RetryAfterMs switch
    {
        > 0 and <= 60_000 and var ms => TimeSpan.FromMilliseconds(ms),
        _ => PollInterval,
    };
}
