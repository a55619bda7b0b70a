using Dedalus.Contracts;
using Dedalus.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Dedalus.Server.Sessions.Api;

/// <summary><c>/v1/machines/{id}/ssh</c>: create, list, get and delete SSH sessions.</summary>
public static class SshSessionsApi
{
    public static RouteGroupBuilder MapSshSessions(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/machines/{machineId}/ssh").WithTags("Machine SSH");
        group.MapPost("/", CreateAsync).WithName("createMachineSSHSession").Accepts<CreateSshSessionRequest>("application/json")
            .Produces<SshSession>().Produces<ErrorEnvelope>(StatusCodes.Status400BadRequest);
        group.MapGet("/", ListAsync).WithName("listMachineSSHSessions");
        group.MapGet("/{sessionId}", GetAsync).WithName("getMachineSSHSession");
        group.MapDelete("/{sessionId}", DeleteAsync).WithName("deleteMachineSSHSession");
        return group;
    }

    private static async Task<JsonHttpResult<SshSession>> CreateAsync(HttpContext context, string machineId, SshSessionService sessions, SshSessionMapper mapper)
    {
        var request = await RequestBody.ReadJsonAsync(context, RequestBody.StrictContext.CreateSshSessionRequest);
        var (session, machine) = await sessions.CreateAsync(CallerOrg.Get(context), machineId, request, context.RequestAborted);
        return TypedResults.Json(mapper.ToContract(session, machine), DedalusJsonContext.Default.SshSession);
    }

    private static async Task<JsonHttpResult<SshSessionList>> ListAsync(HttpContext context, string machineId, SshSessionService sessions, SshSessionMapper mapper)
    {
        var (after, limit) = PageCursor.Read(context.Request, 's');
        var (page, machine) = await sessions.ListAsync(CallerOrg.Get(context), machineId, after, limit, context.RequestAborted);
        var list = new SshSessionList([.. page.Items.Select(s => mapper.ToContract(s, machine))], PageCursor.Encode(page.NextAfter, 's'));
        return TypedResults.Json(list, DedalusJsonContext.Default.SshSessionList);
    }

    private static async Task<JsonHttpResult<SshSession>> GetAsync(HttpContext context, string machineId, string sessionId, SshSessionService sessions, SshSessionMapper mapper)
    {
        var (session, machine) = await sessions.GetAsync(CallerOrg.Get(context), machineId, sessionId, context.RequestAborted);
        return TypedResults.Json(mapper.ToContract(session, machine), DedalusJsonContext.Default.SshSession);
    }

    private static async Task<JsonHttpResult<SshSession>> DeleteAsync(HttpContext context, string machineId, string sessionId, SshSessionService sessions, SshSessionMapper mapper)
    {
        var (session, machine) = await sessions.DeleteAsync(CallerOrg.Get(context), machineId, sessionId, context.RequestAborted);
        return TypedResults.Json(mapper.ToContract(session, machine), DedalusJsonContext.Default.SshSession);
    }
}
