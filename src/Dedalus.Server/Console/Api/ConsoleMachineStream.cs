using System.Text;
using System.Text.Json;
using Dedalus.Contracts;
using Dedalus.Server.Cluster;
using Dedalus.Server.Errors;
using Dedalus.Server.Http;
using Dedalus.Server.Machines;
using Microsoft.AspNetCore.Http;

namespace Dedalus.Server.Console.Api;

/// <summary>
/// <c>GET /console/api/machines/stream[?machine=ID]</c>: server-sent events <c>event: machines</c> whose data is the org's
/// machine list (or the one machine) whenever it changes; the current list comes first.
/// </summary>
/// <remarks>
/// Fed by the change signals the <c>/v1</c> status stream uses: the stream waits on <see cref="MachineChangeFeed"/> for
/// each machine it shows, which the writer of this node and the cluster's signals (a machine changed on another node)
/// both wake, so a phase change appears within the time of one store read. Machines created elsewhere have no signal
/// this stream knows to wait on, so it also re-reads every <see cref="NewMachineCheck"/>: one indexed list query per
/// open page, which costs less than a page polling the whole list itself, and nothing is sent when nothing changed.
/// </remarks>
public static class ConsoleMachineStream
{
    /// <summary>How often the list is read again without a signal, for machines created by another client or node.</summary>
    public static readonly TimeSpan NewMachineCheck = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    public static async Task StreamAsync(HttpContext context, MachineService machines, MachineChangeFeed feed, NodeDirectory nodes, TimeProvider timeProvider)
    {
        var cancellationToken = context.RequestAborted;
        var orgId = CallerOrg.Get(context);
        var only = context.Request.Query["machine"] is { Count: > 0 } asked && !string.IsNullOrEmpty(asked[0]) ? asked[0] : null;

        // The first read answers errors (an unknown machine is a 404 in the envelope) before the stream starts.
        var list = await ConsoleApi.ReadMachinesAsync(orgId, only, machines, nodes, cancellationToken);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        await context.Response.StartAsync(cancellationToken);

        string? lastSent = null;
        var quietSince = timeProvider.GetTimestamp();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                // Take the signals before reading (as the status stream does): a change between the read and the wait wakes it.
                var changed = list.Items.Select(m => feed.NextChangeAsync(MachineIds.Prefix + m.MachineId, cancellationToken)).ToList();
                if (lastSent is not null)
                {
                    try
                    {
                        list = await ConsoleApi.ReadMachinesAsync(orgId, only, machines, nodes, cancellationToken);
                    }
                    catch (DomainException)
                    {
                        return; // the one machine watched is gone (past its destroyed retention): nothing more to say
                    }
                }

                var json = JsonSerializer.Serialize(list, DedalusJsonContext.Default.MachineList);
                if (!string.Equals(json, lastSent, StringComparison.Ordinal))
                {
                    await context.Response.WriteAsync(new StringBuilder(json.Length + 32).Append("event: machines\ndata: ").Append(json).Append("\n\n").ToString(), cancellationToken);
                    await context.Response.Body.FlushAsync(cancellationToken);
                    lastSent = json;
                    quietSince = timeProvider.GetTimestamp();
                }

                var wait = only is null ? NewMachineCheck : KeepAlive;
                var woken = changed.Count == 0 ? Task.Delay(wait, timeProvider, cancellationToken) : Task.WhenAny(changed).WaitAsync(wait, timeProvider, cancellationToken);
                try
                {
                    await woken;
                }
                catch (TimeoutException)
                {
                }

                if (timeProvider.GetElapsedTime(quietSince) >= KeepAlive)
                {
                    // Proxies cut streams that stay silent; a comment line is ignored by EventSource.
                    await context.Response.WriteAsync(": keep-alive\n\n", cancellationToken);
                    await context.Response.Body.FlushAsync(cancellationToken);
                    quietSince = timeProvider.GetTimestamp();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
