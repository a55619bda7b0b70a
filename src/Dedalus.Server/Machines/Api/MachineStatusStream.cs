using System.Globalization;
using System.Text;
using Dedalus.Contracts;
using Dedalus.Server.Cluster;
using Dedalus.Server.Http;
using Dedalus.Server.Store;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Server.Machines.Api;

/// <summary>
/// <c>GET /v1/machines/{id}/status/stream</c>: server-sent events <c>event: status</c>, <c>id:</c> = the
/// machine event sequence (monotonic), <c>data:</c> = the machine JSON. Without <c>Last-Event-ID</c> the
/// current state comes first; with it, every later event. The stream ends once the machine is at its
/// desired state with no resize pending and its gateway port listening (or failed). A comment line every 15 s keeps proxies from cutting long waits.
/// </summary>
public static class MachineStatusStream
{
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    public static async Task StreamAsync(HttpContext context, string machineId, MachineService machines, IStore store, MachineChangeFeed feed, NodeDirectory nodes)
    {
        var cancellationToken = context.RequestAborted;
        var orgId = CallerOrg.Get(context);
        var machine = await machines.GetAsync(orgId, machineId, cancellationToken);
        long lastSent = -1;
        var resumeHeader = context.Request.Headers["Last-Event-ID"];
        if (resumeHeader.Count > 0 && long.TryParse(resumeHeader[0], NumberStyles.None, CultureInfo.InvariantCulture, out var resume))
        {
            lastSent = resume;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        await context.Response.StartAsync(cancellationToken);

        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var changed = feed.NextChangeAsync(machine.Id, cancellationToken);
                machine = await store.GetMachineAsync(machine.Id, cancellationToken) ?? machine;
                var events = await store.GetMachineEventsAsync(machine.Id, Math.Max(lastSent, 0), cancellationToken);
                if (lastSent < 0 && events.Count > 0)
                {
                    events = [events[^1]]; // fresh watch: the current state only
                }

                foreach (var e in events)
                {
                    await WriteEventAsync(context.Response, e, cancellationToken);
                    lastSent = e.Sequence;
                }

                if (events.Count > 0)
                {
                    await context.Response.Body.FlushAsync(cancellationToken);
                }

                // Its node is lost: nothing will be stored until the node is back, so the stream says how the machine
                // reads now (failed, node_lost; the heartbeat that notices it wakes this loop) and ends, as for a failure.
                if (machine.Phase != MachinePhases.Destroyed && nodes.LostOwner(machine.NodeId) is not null)
                {
                    var seen = nodes.AsSeen(machine);
                    await WriteEventAsync(context.Response, new MachineEvent(Math.Max(lastSent, 0), seen.Id, seen.Revision, MachineMapper.ToJson(seen)), cancellationToken);
                    await context.Response.Body.FlushAsync(cancellationToken);
                    return;
                }

                // At the desired state means with a pending resize applied too (a PATCH answered 202 for it), and
                // reachable: a machine whose gateway port another process holds has its retry or move still to come.
                if ((machine.IsConverged && !machine.ResourcesDirty && !machine.IsGatewayPortUnavailable) || machine.Phase == MachinePhases.Failed)
                {
                    return;
                }

                try
                {
                    await changed.WaitAsync(KeepAlive, cancellationToken);
                }
                catch (TimeoutException)
                {
                    await context.Response.WriteAsync(": keep-alive\n\n", cancellationToken);
                    await context.Response.Body.FlushAsync(cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static Task WriteEventAsync(HttpResponse response, MachineEvent e, CancellationToken cancellationToken)
    {
        var text = new StringBuilder(e.Payload.Length + 48)
            .Append("id: ").Append(e.Sequence.ToString(CultureInfo.InvariantCulture)).Append('\n')
            .Append("event: status\n")
            .Append("data: ").Append(e.Payload).Append("\n\n")
            .ToString();
        return response.WriteAsync(text, cancellationToken);
    }
}
