using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Client.Tests;

public sealed class WatchTests
{
    [Fact]
    public async Task Watching_yields_status_events_and_resumes_a_dropped_stream_with_last_event_id()
    {
        var connections = 0;
        var firstSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}/status/stream", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/event-stream";
            var first = Interlocked.Increment(ref connections) == 1;
            var phases = first ? new[] { ("1", "starting") } : new[] { ("2", "running") };
            foreach (var (id, phase) in phases)
            {
                var json = JsonSerializer.Serialize(Samples.Machine(phase: phase), DedalusJsonContext.Default.Machine);
                await context.Response.WriteAsync($"id: {id}\nevent: status\ndata: {json}\n\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }

            if (first)
            {
                await firstSeen.Task.WaitAsync(TimeSpan.FromSeconds(10));
                context.Abort(); // drop the connection mid-stream
            }
        }));
        using var client = api.CreateClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        var phasesSeen = new List<string>();
        await foreach (var machine in client.Machines.WatchAsync(Samples.MachineId, cancellationToken: cts.Token))
        {
            phasesSeen.Add(machine.Phase);
            firstSeen.TrySetResult();
        }

        Assert.Equal(["starting", "running"], phasesSeen);
        var requests = api.Requests.ToArray();
        Assert.Equal(2, requests.Length);
        Assert.Null(requests[0].Header("Last-Event-ID"));
        Assert.Equal("1", requests[1].Header("Last-Event-ID"));
        Assert.Equal("text/event-stream", requests[0].Header("Accept"));
    }

    [Fact]
    public async Task An_error_event_ends_the_watch_with_an_exception()
    {
        await using var api = await StubApi.StartAsync(app => app.MapGet("/v1/machines/{id}/status/stream", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("event: error\ndata: {\"error_code\":\"INTERNAL\",\"message\":\"stream broke\",\"retryable\":false}\n\n", context.RequestAborted);
        }));
        using var client = api.CreateClient();

        var error = await Assert.ThrowsAsync<DedalusException>(async () =>
        {
            await foreach (var _ in client.Machines.WatchAsync(Samples.MachineId))
            {
            }
        });

        Assert.Contains("stream broke", error.Message, StringComparison.Ordinal);
    }
}
