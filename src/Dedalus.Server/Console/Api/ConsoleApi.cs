using Dedalus.Contracts;
using Dedalus.Server.Cluster;
using Dedalus.Server.Connections;
using Dedalus.Server.Console.Terminal;
using Dedalus.Server.Http;
using Dedalus.Server.Machines;
using Dedalus.Server.Machines.Api;
using Dedalus.Server.Sessions;
using Dedalus.Server.Sessions.Api;
using Dedalus.Server.Store;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Dedalus.Server.Console.Api;

/// <summary>
/// <c>/console/api</c>: the JSON the console's pages call, as the browser session's org (set by
/// <see cref="ConsoleMiddleware"/>). Every handler calls the same services as <c>/v1</c> with the same request types,
/// so validation, quotas and errors (the DCS envelope) are the API's own; what differs is who the caller is (a
/// cookie with a CSRF token instead of an API key) and that lists come whole rather than by page.
/// </summary>
public static class ConsoleApi
{
    /// <summary>Most machines (or sessions) a console list shows: pages of the API's largest size, followed this far.</summary>
    public const int MaxListed = 1000;

    /// <summary>How many finished connections a machine's page shows.</summary>
    public const int HistoryShown = 50;

    public static void MapConsoleApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup(ConsolePaths.Api).ExcludeFromDescription();
        api.MapGet("/session", GetSessionAsync);
        api.MapDelete("/session", SignOutAsync);
        api.MapGet("/machines", ListMachinesAsync);
        api.MapGet("/machines/stream", ConsoleMachineStream.StreamAsync);
        api.MapPost("/machines", CreateMachineAsync);
        api.MapGet("/machines/{machineId}", GetMachineAsync);
        api.MapPatch("/machines/{machineId}", UpdateMachineAsync);
        api.MapDelete("/machines/{machineId}", DeleteMachineAsync);
        api.MapPost("/machines/{machineId}/sleep", SleepMachineAsync);
        api.MapPost("/machines/{machineId}/wake", WakeMachineAsync);
        api.MapGet("/machines/{machineId}/ssh", ListSessionsAsync);
        api.MapDelete("/machines/{machineId}/ssh/{sessionId}", DeleteSessionAsync);
        api.MapGet("/machines/{machineId}/connections", ListConnectionsAsync);
    }

    private static async Task<JsonHttpResult<ConsoleSessionInfo>> GetSessionAsync(HttpContext context, ConsoleCaller caller)
    {
        var session = (await caller.SessionAsync(context, context.RequestAborted))!;
        return TypedResults.Json(new ConsoleSessionInfo(session.OrgId, session.ExpiresAt, session.IdleExpiresAt), ConsoleJsonContext.Default.ConsoleSessionInfo);
    }

    /// <summary>
    /// Sign-out: the session's row goes (every node refuses the cookie from the next request on) and the cookie is
    /// cleared, and the session's terminals end. A mutation like any other, so a cross-site page cannot sign the user out.
    /// </summary>
    private static async Task<NoContent> SignOutAsync(HttpContext context, ConsoleCaller caller, ConsoleSessions sessions, TerminalHost terminals, ILoggerFactory loggers)
    {
        var session = (await caller.SessionAsync(context, context.RequestAborted))!;

        // The row first, with no cancellation: a browser that goes away mid-request must not leave the session alive.
        await sessions.SignOutAsync(session.Id, CancellationToken.None);
        // Its terminals on this node end too (a closed frame, ssh killed, their SSH sessions closed); bounded, so a stuck
        // one cannot hold the sign-out. The session is already gone whatever happens here.
        using (var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            try
            {
                await terminals.EndBrowserSessionAsync(session.Id, bound.Token);
            }
            catch (OperationCanceledException) when (bound.IsCancellationRequested)
            {
            }
        }

        ConsoleCaller.Forget(context);
        ConsoleCookies.Clear(context, ConsoleCookies.Session(context.Request));
        ConsoleLog.SignedOut(loggers.CreateLogger("Dedalus.Server.Console"), session.Id);
        return TypedResults.NoContent();
    }

    private static async Task<JsonHttpResult<MachineList>> ListMachinesAsync(HttpContext context, MachineService machines, NodeDirectory nodes) =>
        TypedResults.Json(await ReadMachinesAsync(CallerOrg.Get(context), null, machines, nodes, context.RequestAborted), DedalusJsonContext.Default.MachineList);

    /// <summary>The org's machines as the API shows them (all of them, up to <see cref="MaxListed"/>), or just <paramref name="only"/>.</summary>
    internal static async Task<MachineList> ReadMachinesAsync(string orgId, string? only, MachineService machines, NodeDirectory nodes, CancellationToken cancellationToken)
    {
        if (only is not null)
        {
            var machine = await machines.GetAsync(orgId, only, cancellationToken).ConfigureAwait(false);
            return new MachineList([MachineMapper.ToContract(nodes.AsSeen(machine))]);
        }

        var items = new List<Machine>();
        long after = 0;
        while (items.Count < MaxListed)
        {
            var page = await machines.ListAsync(orgId, after, PageCursor.MaxLimit, cancellationToken).ConfigureAwait(false);
            items.AddRange(page.Items.Select(m => MachineMapper.ToContract(nodes.AsSeen(m))));
            if (page.NextAfter is not { } next)
            {
                break;
            }

            after = next;
        }

        return new MachineList(items);
    }

    private static async Task<JsonHttpResult<Machine>> CreateMachineAsync(HttpContext context, MachineService machines, NodeDirectory nodes)
    {
        var request = await RequestBody.ReadJsonAsync(context, RequestBody.StrictContext.CreateMachineRequest);
        return Answer(nodes, await machines.CreateAsync(CallerOrg.Get(context), request, context.RequestAborted));
    }

    private static async Task<JsonHttpResult<Machine>> GetMachineAsync(HttpContext context, string machineId, MachineService machines, NodeDirectory nodes) =>
        Answer(nodes, await machines.GetAsync(CallerOrg.Get(context), machineId, context.RequestAborted));

    private static async Task<JsonHttpResult<Machine>> UpdateMachineAsync(HttpContext context, string machineId, MachineService machines, NodeDirectory nodes)
    {
        var request = await RequestBody.ReadJsonAsync(context, RequestBody.StrictContext.UpdateMachineRequest);
        return Answer(nodes, await machines.UpdateAsync(CallerOrg.Get(context), machineId, request, expectedRevision: null, context.RequestAborted));
    }

    private static async Task<JsonHttpResult<Machine>> DeleteMachineAsync(HttpContext context, string machineId, MachineService machines, NodeDirectory nodes) =>
        Answer(nodes, await machines.DeleteAsync(CallerOrg.Get(context), machineId, expectedRevision: null, context.RequestAborted));

    private static async Task<JsonHttpResult<Machine>> SleepMachineAsync(HttpContext context, string machineId, MachineService machines, NodeDirectory nodes) =>
        Answer(nodes, await machines.SleepAsync(CallerOrg.Get(context), machineId, expectedRevision: null, context.RequestAborted));

    private static async Task<JsonHttpResult<Machine>> WakeMachineAsync(HttpContext context, string machineId, MachineService machines, NodeDirectory nodes) =>
        Answer(nodes, await machines.WakeAsync(CallerOrg.Get(context), machineId, expectedRevision: null, context.RequestAborted));

    private static async Task<JsonHttpResult<SshSessionList>> ListSessionsAsync(HttpContext context, string machineId, SshSessionService sessions, SshSessionMapper mapper)
    {
        var orgId = CallerOrg.Get(context);
        var items = new List<SshSession>();
        long after = 0;
        while (items.Count < MaxListed)
        {
            var (page, machine) = await sessions.ListAsync(orgId, machineId, after, PageCursor.MaxLimit, context.RequestAborted);
            items.AddRange(page.Items.Select(s => mapper.ToContract(s, machine)));
            if (page.NextAfter is not { } next)
            {
                break;
            }

            after = next;
        }

        return TypedResults.Json(new SshSessionList(items), DedalusJsonContext.Default.SshSessionList);
    }

    private static async Task<JsonHttpResult<SshSession>> DeleteSessionAsync(HttpContext context, string machineId, string sessionId, SshSessionService sessions, SshSessionMapper mapper)
    {
        var (session, machine) = await sessions.DeleteAsync(CallerOrg.Get(context), machineId, sessionId, context.RequestAborted);
        return TypedResults.Json(mapper.ToContract(session, machine), DedalusJsonContext.Default.SshSession);
    }

    /// <summary>The machine's live SSH connections (from every node) and its latest <see cref="HistoryShown"/> finished ones, from the same service as <c>/v1/machines/{id}/ssh/connections</c>.</summary>
    private static async Task<JsonHttpResult<ConsoleConnections>> ListConnectionsAsync(HttpContext context, string machineId, SshConnections connections)
    {
        var orgId = CallerOrg.Get(context);
        var live = await connections.ListLiveAsync(orgId, machineId, context.RequestAborted);
        var history = await connections.ListHistoryAsync(orgId, machineId, HistoryShown, cancellationToken: context.RequestAborted);
        return TypedResults.Json(new ConsoleConnections(live.Items, history.Items), ConsoleJsonContext.Default.ConsoleConnections);
    }

    private static JsonHttpResult<Machine> Answer(NodeDirectory nodes, MachineRecord machine) =>
        TypedResults.Json(MachineMapper.ToContract(nodes.AsSeen(machine)), DedalusJsonContext.Default.Machine);
}
