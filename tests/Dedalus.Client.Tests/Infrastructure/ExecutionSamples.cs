using Microsoft.AspNetCore.Http;

namespace Dedalus.Client.Tests.Infrastructure;

/// <summary>Execution payloads for stub routes, in the wire format.</summary>
public static class ExecutionSamples
{
    public const string ExecutionId = "ex-0123456789abcdef0123456789abcdef";

    public static Execution Execution(
        string status = ExecutionStatuses.Running,
        string id = ExecutionId,
        int? exitCode = null,
        int? signal = null,
        string? errorCode = null,
        string? errorMessage = null) =>
        new(id, Samples.MachineId, status, DateTimeOffset.UnixEpoch, new LogCapture(), ["sh", "-c", "true"],
            ExitCode: exitCode, Signal: signal, ErrorCode: errorCode, ErrorMessage: errorMessage);

    public static ExecutionEvent Lifecycle(long sequence, string status, int? exitCode = null) =>
        new(sequence, ExecutionEventTypes.Lifecycle, DateTimeOffset.UnixEpoch, Status: status, ExitCode: exitCode);

    public static ExecutionEvent Stdout(long sequence, string text) => new(sequence, ExecutionEventTypes.Stdout, DateTimeOffset.UnixEpoch, Chunk: text);

    public static ExecutionEvent Stderr(long sequence, string text) => new(sequence, ExecutionEventTypes.Stderr, DateTimeOffset.UnixEpoch, Chunk: text);

    public static IResult Json(Execution execution) => Results.Json(execution, DedalusJsonContext.Default.Execution);

    public static IResult Json(ExecutionList list) => Results.Json(list, DedalusJsonContext.Default.ExecutionList);

    public static IResult Json(ExecutionOutput output) => Results.Json(output, DedalusJsonContext.Default.ExecutionOutput);

    public static IResult Json(ExecutionEventList page) => Results.Json(page, DedalusJsonContext.Default.ExecutionEventList);

    public static IResult Page(string? next, params ExecutionEvent[] events) => Json(new ExecutionEventList(events, next));
}
