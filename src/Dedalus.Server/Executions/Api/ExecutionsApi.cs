using System.Globalization;
using Dedalus.Contracts;
using Dedalus.Server.Errors;
using Dedalus.Server.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Dedalus.Server.Executions.Api;

/// <summary>
/// <c>/v1/machines/{id}/executions</c>: create, list, get, cancel (DELETE), output, events and the log sub-resource; and
/// the log-read service (<c>/logs/v1/streams/{stream_id}</c>), which a read token opens instead of an API key.
/// </summary>
public static class ExecutionsApi
{
    /// <summary>Where the log-read service lives, relative to the server's base URL.</summary>
    public const string LogServicePath = "/logs/v1";

    public static RouteGroupBuilder MapExecutions(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/machines/{machineId}/executions").WithTags("Machine executions");
        group.MapPost("/", CreateAsync).WithName("createMachineExecution").Accepts<CreateExecutionRequest>("application/json")
            .Produces<Execution>().Produces<ErrorEnvelope>(StatusCodes.Status400BadRequest);
        group.MapGet("/", ListAsync).WithName("listMachineExecutions");
        group.MapGet("/{executionId}", GetAsync).WithName("getMachineExecution");
        group.MapDelete("/{executionId}", CancelAsync).WithName("deleteMachineExecution");
        group.MapGet("/{executionId}/output", OutputAsync).WithName("getMachineExecutionOutput");
        group.MapGet("/{executionId}/events", EventsAsync).WithName("listMachineExecutionEvents");
        group.MapGet("/{executionId}/logs", LogsAsync).WithName("getMachineExecutionLogs");
        group.MapPost("/{executionId}/logs/reauthorize", ReauthorizeAsync).WithName("reauthorizeMachineExecutionLogs");
        group.MapPost("/{executionId}/logs/token", TokenAsync).WithName("createMachineExecutionLogToken");
        routes.MapGet(LogServicePath + "/streams/{streamId}", LogStream.StreamAsync).WithName("readExecutionLogStream").WithTags("Execution logs");
        return group;
    }

    private static async Task<JsonHttpResult<Execution>> CreateAsync(HttpContext context, string machineId, ExecutionService executions)
    {
        var request = await RequestBody.ReadJsonAsync(context, RequestBody.StrictContext.CreateExecutionRequest);
        var key = context.Request.Headers[DedalusHeaders.IdempotencyKey].FirstOrDefault();
        var (execution, _) = await executions.CreateAsync(
            CallerOrg.Get(context), machineId, request, string.IsNullOrEmpty(key) ? null : key, context.TraceIdentifier, context.RequestAborted);
        return TypedResults.Json(ExecutionMapper.ToContract(execution), DedalusJsonContext.Default.Execution);
    }

    private static async Task<JsonHttpResult<ExecutionList>> ListAsync(HttpContext context, string machineId, ExecutionService executions)
    {
        var (after, limit) = PageCursor.Read(context.Request, 'x');
        var page = await executions.ListAsync(CallerOrg.Get(context), machineId, after, limit, context.RequestAborted);
        var list = new ExecutionList([.. page.Items.Select(ExecutionMapper.ToContract)], PageCursor.Encode(page.NextAfter, 'x'));
        return TypedResults.Json(list, DedalusJsonContext.Default.ExecutionList);
    }

    private static async Task<JsonHttpResult<Execution>> GetAsync(HttpContext context, string machineId, string executionId, ExecutionService executions) =>
        TypedResults.Json(ExecutionMapper.ToContract(await executions.GetAsync(CallerOrg.Get(context), machineId, executionId, context.RequestAborted)),
            DedalusJsonContext.Default.Execution);

    private static async Task<JsonHttpResult<Execution>> CancelAsync(HttpContext context, string machineId, string executionId, ExecutionService executions) =>
        TypedResults.Json(ExecutionMapper.ToContract(await executions.CancelAsync(CallerOrg.Get(context), machineId, executionId, context.RequestAborted)),
            DedalusJsonContext.Default.Execution);

    private static async Task<JsonHttpResult<ExecutionOutput>> OutputAsync(HttpContext context, string machineId, string executionId, ExecutionService executions)
    {
        var (e, stdout, stderr) = await executions.OutputAsync(CallerOrg.Get(context), machineId, executionId, context.RequestAborted);
        return TypedResults.Json(
            new ExecutionOutput(e.Id, stdout, stderr, e.StdoutBytes, e.StderrBytes, e.StdoutBytes > e.StdoutKept, e.StderrBytes > e.StderrKept),
            DedalusJsonContext.Default.ExecutionOutput);
    }

    private static async Task<JsonHttpResult<ExecutionEventList>> EventsAsync(HttpContext context, string machineId, string executionId, ExecutionService executions)
    {
        var (after, limit) = PageCursor.Read(context.Request, 'v');
        var wait = ReadWait(context.Request);
        var (events, more) = await executions.EventsAsync(CallerOrg.Get(context), machineId, executionId, after, limit, wait, context.RequestAborted);
        var last = events.Count > 0 ? events[^1].Sequence : after;
        return TypedResults.Json(
            new ExecutionEventList([.. events.Select(ExecutionMapper.ToContract)], more ? PageCursor.Encode(last, 'v') : null),
            DedalusJsonContext.Default.ExecutionEventList);
    }

    private static async Task<JsonHttpResult<ExecutionLogStatus>> LogsAsync(HttpContext context, string machineId, string executionId, ExecutionService executions) =>
        TypedResults.Json(ExecutionMapper.LogStatus(await executions.GetAsync(CallerOrg.Get(context), machineId, executionId, context.RequestAborted)),
            DedalusJsonContext.Default.ExecutionLogStatus);

    private static async Task<JsonHttpResult<ExecutionLogStatus>> ReauthorizeAsync(HttpContext context, string machineId, string executionId, ExecutionService executions) =>
        TypedResults.Json(ExecutionMapper.LogStatus(await executions.ReauthorizeLogsAsync(CallerOrg.Get(context), machineId, executionId, context.RequestAborted)),
            DedalusJsonContext.Default.ExecutionLogStatus);

    private static async Task<JsonHttpResult<ExecutionLogToken>> TokenAsync(
        HttpContext context, string machineId, string executionId, ExecutionService executions, ExecutionLogTokens tokens)
    {
        var execution = await executions.GetAsync(CallerOrg.Get(context), machineId, executionId, context.RequestAborted);
        var (token, expires) = tokens.Issue(execution);
        var baseUrl = $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}{LogServicePath}";
        return TypedResults.Json(new ExecutionLogToken(token, "Bearer", baseUrl, execution.Id, execution.StreamId, expires), DedalusJsonContext.Default.ExecutionLogToken);
    }

    private static int ReadWait(HttpRequest request)
    {
        var text = request.Query["wait_ms"];
        if (text.Count == 0 || string.IsNullOrEmpty(text[0]))
        {
            return 0;
        }

        return int.TryParse(text[0], NumberStyles.None, CultureInfo.InvariantCulture, out var wait) && wait <= ExecutionService.MaxWaitMs
            ? wait
            : throw DomainException.InvalidRequest($"wait_ms must be a whole number of milliseconds from 0 to {ExecutionService.MaxWaitMs}", "wait_ms");
    }
}
