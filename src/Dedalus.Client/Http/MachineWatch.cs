using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Dedalus.Contracts;

namespace Dedalus.Client.Http;

/// <summary>Server-sent events of a machine's status, resumed with <c>Last-Event-ID</c> after a dropped stream.</summary>
internal static class MachineWatch
{
    public static async IAsyncEnumerable<Machine> WatchAsync(
        ApiRequester requester,
        string path,
        string? lastEventId,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var failures = 0;
        while (true)
        {
            var response = await requester.OpenStreamAsync(path, lastEventId, cancellationToken).ConfigureAwait(false);
            using (response)
            {
                var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    var events = SseParser.Create(stream).EnumerateAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
                    await using (events.ConfigureAwait(false))
                    {
                        while (true)
                        {
                            SseItem<string> item;
                            try
                            {
                                if (!await events.MoveNextAsync().ConfigureAwait(false))
                                {
                                    // The server closed the stream: the machine reached its desired state.
                                    yield break;
                                }

                                item = events.Current;
                            }
                            catch (Exception e) when (e is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
                            {
                                if (++failures > requester.Options.MaxRetries)
                                {
                                    throw new DedalusConnectionException($"the status stream dropped and could not be resumed ({e.Message}); run the watch again", isTimeout: false, e);
                                }

                                break;
                            }

                            if (item.EventId is { Length: > 0 } id)
                            {
                                lastEventId = id;
                            }

                            if (item.EventType == "error")
                            {
                                var envelope = ErrorMapper.ParseBody(item.Data);
                                throw new DedalusException("the status stream reported an error: " + (envelope?.Message ?? item.Data));
                            }

                            if (string.IsNullOrWhiteSpace(item.Data))
                            {
                                continue;
                            }

                            Machine? machine;
                            try
                            {
                                machine = JsonSerializer.Deserialize(item.Data, DedalusJsonContext.Default.Machine);
                            }
                            catch (JsonException)
                            {
                                continue; // Heartbeats or events of a newer server: skip.
                            }

                            if (machine is not null)
                            {
                                failures = 0;
                                yield return machine;
                            }
                        }
                    }
                }
            }

            await Task.Delay(RetryPolicy.Backoff(failures - 1), requester.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }
}
