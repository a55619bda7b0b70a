using System.Net;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.Server.Tests.Infrastructure;

namespace Dedalus.Server.Tests;

public class StatusStreamTests : ServerTestBase
{
    private sealed record SseEvent(long Id, string Event, Machine Machine);

    /// <summary>Reads the whole stream (it must end by itself within the timeout).</summary>
    private async Task<(HttpResponseMessage Response, List<SseEvent> Events)> ReadStreamAsync(string machineId, string? lastEventId = null, Action? afterFirstEvent = null)
    {
        using var cts = new CancellationTokenSource(RunningServer.Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/machines/{machineId}/status/stream");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        var response = await Api.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        var events = new List<SseEvent>();
        await using var stream = await response.Content.ReadAsStreamAsync(cts.Token);
        using var reader = new StreamReader(stream);
        long id = 0;
        string? name = null;
        string? data = null;
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.Length == 0)
            {
                if (data is not null)
                {
                    events.Add(new SseEvent(id, name!, JsonSerializer.Deserialize(data, DedalusJsonContext.Default.Machine)!));
                    if (events.Count == 1)
                    {
                        afterFirstEvent?.Invoke();
                    }
                }

                (name, data) = (null, null);
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = long.Parse(line[4..]);
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
        }

        return (response, events);
    }

    [Fact]
    public async Task Watching_a_waking_machine_yields_status_events_with_rising_ids_and_ends_when_it_runs()
    {
        var release = new TaskCompletionSource();
        Server.Runtime.BeforeStart = (_, ct) => release.Task.WaitAsync(ct);
        var machine = await Api.CreateMachineAsync();

        var (response, events) = await ReadStreamAsync(machine.MachineId, afterFirstEvent: release.SetResult);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.True(events.Count >= 2, $"{events.Count} events");
        Assert.All(events, e => Assert.Equal("status", e.Event));
        Assert.Equal(events.Select(e => e.Id).Order(), events.Select(e => e.Id));
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
        Assert.Equal(MachinePhases.Running, events[^1].Machine.Phase);
        Assert.Equal(MachinePhases.Running, events[^1].Machine.Status.Phase);
        Assert.All(events.SkipLast(1), e => Assert.NotEqual(MachinePhases.Running, e.Machine.Phase));
    }

    [Fact]
    public async Task Watching_a_machine_at_its_desired_state_yields_its_state_once_and_ends()
    {
        var machine = await Api.CreateRunningMachineAsync();

        var (_, events) = await ReadStreamAsync(machine.MachineId);

        var only = Assert.Single(events);
        Assert.Equal(machine.Status.Revision, only.Machine.Status.Revision);
    }

    [Fact]
    public async Task Resuming_with_last_event_id_yields_only_the_later_events()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var (_, before) = await ReadStreamAsync(machine.MachineId);
        await Api.PostAsync($"/v1/machines/{machine.MachineId}/sleep", null);
        await Api.WaitForPhaseAsync(machine.MachineId, MachinePhases.Sleeping);

        var (_, after) = await ReadStreamAsync(machine.MachineId, before[^1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.All(after, e => Assert.True(e.Id > before[^1].Id));
        Assert.Equal(
            [DesiredStates.Sleeping, DesiredStates.Sleeping, DesiredStates.Sleeping],
            after.Select(e => e.Machine.DesiredState));
        Assert.Equal([MachinePhases.Running, MachinePhases.Stopping, MachinePhases.Sleeping], after.Select(e => e.Machine.Phase));
    }

    [Fact]
    public async Task Watching_a_machine_whose_resize_is_pending_ends_only_once_the_resize_is_applied()
    {
        var machine = await Api.CreateRunningMachineAsync();
        var release = new TaskCompletionSource();
        Server.Runtime.BeforeResize = (_, ct) => release.Task.WaitAsync(ct);
        var patch = await Api.SendAsync(HttpMethod.Patch, $"/v1/machines/{machine.MachineId}", """{"vcpu":2}""");
        Assert.Equal(HttpStatusCode.OK, patch.Status);

        var (_, events) = await ReadStreamAsync(machine.MachineId, afterFirstEvent: release.SetResult);

        Assert.True(events.Count >= 2, $"{events.Count} events: the stream ended before the resize was applied");
        Assert.Equal("resized", events[^1].Machine.Status.Reason);
        Assert.Equal(2, events[^1].Machine.Vcpu);
    }

    [Fact]
    public async Task Watching_another_orgs_machine_is_404()
    {
        var machine = await Api.CreateRunningMachineAsync();
        using var other = await Server.NewClientAsync("globex");

        var response = await other.GetAsync($"/v1/machines/{machine.MachineId}/status/stream");

        Assert.Equal(HttpStatusCode.NotFound, response.Status);
    }
}
