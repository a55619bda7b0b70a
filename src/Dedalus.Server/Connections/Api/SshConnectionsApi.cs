using Dedalus.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Dedalus.Server.Connections.Api;

/// <summary>
/// <c>/v1/machines/{id}/ssh/connections</c> (open) and <c>.../ssh/connections/history</c> (finished, newest first):
/// this server's extension, not in the DCS contract. Under <c>/v1/machines/{id}/ssh</c> beside the sessions whose
/// connections they are, authenticated and org-scoped like every API route (the console reads the same), so a script
/// can watch who is connected too. The literal <c>connections</c> segment can never be a session id (<c>ss-&lt;hex&gt;</c>),
/// so <c>GET .../ssh/{session_id}</c> keeps its meaning.
/// </summary>
public static class SshConnectionsApi
{
    /// <summary>The kind byte of the history's cursor (a cursor of another list is refused).</summary>
    private const char HistoryCursor = 'c';

    public static RouteGroupBuilder MapSshConnections(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/machines/{machineId}/ssh/connections").WithTags("Machine SSH connections (extension)");
        group.MapGet("/", ListLiveAsync).WithName("listMachineSSHConnections");
        group.MapGet("/history", ListHistoryAsync).WithName("listMachineSSHConnectionHistory");
        return group;
    }

    private static async Task<JsonHttpResult<LiveSshConnectionList>> ListLiveAsync(HttpContext context, string machineId, SshConnections connections)
    {
        var list = await connections.ListLiveAsync(CallerOrg.Get(context), machineId, context.RequestAborted);
        return TypedResults.Json(list, ConnectionsJsonContext.Default.LiveSshConnectionList);
    }

    private static async Task<JsonHttpResult<FinishedSshConnectionList>> ListHistoryAsync(HttpContext context, string machineId, SshConnections connections)
    {
        var (before, limit) = PageCursor.Read(context.Request, HistoryCursor);
        var page = await connections.ListHistoryAsync(CallerOrg.Get(context), machineId, limit, before, context.RequestAborted);
        return TypedResults.Json(
            new FinishedSshConnectionList(page.Items, PageCursor.Encode(page.NextAfter, HistoryCursor)), ConnectionsJsonContext.Default.FinishedSshConnectionList);
    }
}
