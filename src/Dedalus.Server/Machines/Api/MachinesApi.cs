using System.Globalization;
using Dedalus.Contracts;
using Dedalus.Server.Cluster;
using Dedalus.Server.Errors;
using Dedalus.Server.Http;
using Dedalus.Server.Store;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Dedalus.Server.Machines.Api;

/// <summary><c>/v1/machines</c>: create, list, get, patch, delete, sleep, wake, and the status stream.</summary>
public static class MachinesApi
{
    public static RouteGroupBuilder MapMachines(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/machines").WithTags("Machines");
        group.MapPost("/", CreateAsync).WithName("createMachine").Accepts<CreateMachineRequest>("application/json")
            .Produces<Machine>().Produces<ErrorEnvelope>(StatusCodes.Status400BadRequest);
        group.MapGet("/", ListAsync).WithName("listMachines");
        group.MapGet("/{machineId}", GetAsync).WithName("getMachine");
        group.MapPatch("/{machineId}", PatchAsync).WithName("patchMachine").Accepts<UpdateMachineRequest>("application/json")
            .Produces<Machine>().Produces<ErrorEnvelope>(StatusCodes.Status409Conflict);
        group.MapDelete("/{machineId}", DeleteAsync).WithName("deleteMachine")
            .Produces<Machine>().Produces<ErrorEnvelope>(StatusCodes.Status409Conflict);
        group.MapPost("/{machineId}/sleep", SleepAsync).WithName("sleepMachine")
            .Produces<Machine>().Produces<ErrorEnvelope>(StatusCodes.Status409Conflict);
        group.MapPost("/{machineId}/wake", WakeAsync).WithName("wakeMachine")
            .Produces<Machine>().Produces<ErrorEnvelope>(StatusCodes.Status409Conflict);
        group.MapPost("/{machineId}/reboot", RebootAsync).WithName("rebootMachine")
            .Produces<Machine>().Produces<ErrorEnvelope>(StatusCodes.Status409Conflict);
        group.MapGet("/{machineId}/autoresizing", GetAutoresizingAsync).WithName("getMachineAutoresizing").Produces<AutoresizingSettings>();
        group.MapPut("/{machineId}/autoresizing", PutAutoresizingAsync).WithName("updateMachineAutoresizing")
            .Accepts<AutoresizingSettings>("application/json").Produces<AutoresizingSettings>();
        group.MapGet("/{machineId}/status/stream", MachineStatusStream.StreamAsync).WithName("watchMachineStatus")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream");
        return group;
    }

    private static async Task<JsonHttpResult<Machine>> CreateAsync(HttpContext context, MachineService machines, NodeDirectory nodes)
    {
        var request = await RequestBody.ReadJsonAsync(context, RequestBody.StrictContext.CreateMachineRequest);
        var machine = await machines.CreateAsync(CallerOrg.Get(context), request, context.RequestAborted);
        return Answer(context, nodes, machine);
    }

    private static async Task<JsonHttpResult<MachineList>> ListAsync(HttpContext context, MachineService machines, NodeDirectory nodes)
    {
        var (after, limit) = PageCursor.Read(context.Request, 'm');
        var page = await machines.ListAsync(CallerOrg.Get(context), after, limit, context.RequestAborted);
        var list = new MachineList([.. page.Items.Select(m => MachineMapper.ToContract(nodes.AsSeen(m)))], PageCursor.Encode(page.NextAfter, 'm'));
        return TypedResults.Json(list, DedalusJsonContext.Default.MachineList);
    }

    private static async Task<JsonHttpResult<Machine>> GetAsync(HttpContext context, string machineId, MachineService machines, NodeDirectory nodes)
    {
        var machine = await machines.GetAsync(CallerOrg.Get(context), machineId, context.RequestAborted);
        context.Response.Headers.ETag = MachineMapper.ETag(machine);
        return TypedResults.Json(MachineMapper.ToContract(nodes.AsSeen(machine)), DedalusJsonContext.Default.Machine);
    }

    private static async Task<JsonHttpResult<Machine>> PatchAsync(HttpContext context, string machineId, MachineService machines, NodeDirectory nodes)
    {
        var request = await RequestBody.ReadJsonAsync(context, RequestBody.StrictContext.UpdateMachineRequest);
        var machine = await machines.UpdateAsync(CallerOrg.Get(context), machineId, request, IfMatch(context), context.RequestAborted);
        return Answer(context, nodes, machine);
    }

    private static async Task<JsonHttpResult<Machine>> DeleteAsync(HttpContext context, string machineId, MachineService machines, NodeDirectory nodes) =>
        Answer(context, nodes, await machines.DeleteAsync(CallerOrg.Get(context), machineId, IfMatch(context), context.RequestAborted));

    private static async Task<JsonHttpResult<Machine>> SleepAsync(HttpContext context, string machineId, MachineService machines, NodeDirectory nodes) =>
        Answer(context, nodes, await machines.SleepAsync(CallerOrg.Get(context), machineId, IfMatch(context), context.RequestAborted));

    private static async Task<JsonHttpResult<Machine>> WakeAsync(HttpContext context, string machineId, MachineService machines, NodeDirectory nodes) =>
        Answer(context, nodes, await machines.WakeAsync(CallerOrg.Get(context), machineId, IfMatch(context), context.RequestAborted));

    private static async Task<JsonHttpResult<Machine>> RebootAsync(HttpContext context, string machineId, MachineService machines, NodeDirectory nodes)
    {
        var force = ReadForce(context.Request);
        return Answer(context, nodes, await machines.RebootAsync(CallerOrg.Get(context), machineId, force, context.RequestAborted));
    }

    private static async Task<JsonHttpResult<AutoresizingSettings>> GetAutoresizingAsync(HttpContext context, string machineId, MachineService machines)
    {
        var enabled = await machines.GetAutoresizeAsync(CallerOrg.Get(context), machineId, context.RequestAborted);
        return TypedResults.Json(new AutoresizingSettings(enabled), DedalusJsonContext.Default.AutoresizingSettings);
    }

    private static async Task<JsonHttpResult<AutoresizingSettings>> PutAutoresizingAsync(
        HttpContext context, string machineId, MachineService machines, MemoryAutoresizer autoresizer)
    {
        var enabled = await ReadEnabledAsync(context);
        await machines.SetAutoresizeAsync(CallerOrg.Get(context), machineId, enabled, context.RequestAborted);
        await autoresizer.ApplyNowAsync(CancellationToken.None);
        return TypedResults.Json(new AutoresizingSettings(enabled), DedalusJsonContext.Default.AutoresizingSettings);
    }

    /// <summary>The body of an autoresizing PUT: <c>{"enabled": true|false}</c>, required.</summary>
    internal static async Task<bool> ReadEnabledAsync(HttpContext context)
    {
        var request = await RequestBody.ReadJsonAsync(context, RequestBody.StrictContext.AutoresizingSettings);
        return request.Enabled ?? throw DomainException.InvalidRequest("enabled is required (true or false)", "enabled");
    }

    /// <summary><c>?force=true|false</c> (absent: false); anything else is a 400 naming it.</summary>
    private static bool ReadForce(HttpRequest request)
    {
        if (!request.Query.TryGetValue("force", out var values))
        {
            return false;
        }

        return values.Count == 1 && bool.TryParse(values[0], out var force)
            ? force
            : throw DomainException.InvalidRequest("force must be true or false", "force");
    }

    /// <summary>
    /// 200 with the machine as it is now (the contract's success status; older clients accept it too). Clients poll or
    /// watch <c>status</c> until the phase matches the desired state. ETag = revision (older clients read it).
    /// </summary>
    private static JsonHttpResult<Machine> Answer(HttpContext context, NodeDirectory nodes, MachineRecord machine)
    {
        context.Response.Headers.ETag = MachineMapper.ETag(machine);
        context.Response.Headers[DedalusHeaders.StorageOperationId] = MachineIds.Wire(machine.Id) + "@" + MachineMapper.Revision(machine);
        return TypedResults.Json(MachineMapper.ToContract(nodes.AsSeen(machine)), DedalusJsonContext.Default.Machine);
    }

    /// <summary>
    /// The revision <c>If-Match</c> names, or null to accept any. Takes <c>7</c>, <c>"7"</c> and <c>W/"7"</c> (the ETag as
    /// sent, with or without quotes); <c>*</c> matches any revision.
    /// </summary>
    private static long? IfMatch(HttpContext context)
    {
        var header = context.Request.Headers.IfMatch;
        if (header.Count == 0 || string.IsNullOrWhiteSpace(header.ToString()))
        {
            return null;
        }

        var raw = header.ToString();
        var value = raw.Trim();
        if (value == "*")
        {
            return null;
        }

        if (value.StartsWith("W/", StringComparison.Ordinal))
        {
            value = value[2..];
        }

        value = value.Trim('"');
        return value.Length is > 0 and <= 18 && value.All(char.IsAsciiDigit) && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var revision)
            ? revision
            : throw DomainException.InvalidRequest($"If-Match must be a machine revision (as in ETag), not '{(raw.Length <= 64 ? raw : raw[..64] + "...")}'", "If-Match");
    }
}
