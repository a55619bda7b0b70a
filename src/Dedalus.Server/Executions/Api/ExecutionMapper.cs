using System.Globalization;
using Dedalus.Contracts;
using Dedalus.Server.Store;

namespace Dedalus.Server.Executions.Api;

/// <summary>Maps stored executions and their events to the wire contract.</summary>
public static class ExecutionMapper
{
    /// <summary>Poll pace suggested while an execution waits for its machine to wake (as for SSH sessions).</summary>
    public const long WakeRetryAfterMs = 500;

    /// <summary>Poll pace suggested while it is queued (the process starts within a moment).</summary>
    public const long QueuedRetryAfterMs = 100;

    /// <summary>Poll pace suggested while it runs (readers that want output as it comes page the events with <c>wait_ms</c>).</summary>
    public const long RunningRetryAfterMs = 500;

    public static Execution ToContract(ExecutionRecord e) => new(
        e.Id,
        MachineIds.Wire(e.MachineId),
        e.Status,
        e.CreatedAt,
        Capture(e),
        e.Command,
        e.Cwd,
        e.EnvKeys,
        e.StartedAt,
        e.CompletedAt,
        e.ExpiresAt,
        e.ExitCode,
        e.Signal,
        e.ErrorCode,
        e.ErrorMessage,
        e.Status switch
        {
            ExecutionStatuses.WakeInProgress => WakeRetryAfterMs,
            ExecutionStatuses.Queued => QueuedRetryAfterMs,
            ExecutionStatuses.Running => RunningRetryAfterMs,
            _ => null,
        },
        e.StdoutBytes,
        e.StderrBytes,
        e.StdoutBytes > e.StdoutKept,
        e.StderrBytes > e.StderrKept,
        [],
        e.CreationRequestId,
        e.CreationTraceId);

    /// <summary>
    /// How complete the kept log is: <c>pending</c> while live; once ended, complete (no member set), or
    /// <c>incomplete</c> with the code and the bytes not kept.
    /// </summary>
    public static LogCapture Capture(ExecutionRecord e)
    {
        if (e.IsLive)
        {
            return new LogCapture("pending");
        }

        var lost = (e.StdoutBytes - e.StdoutKept) + (e.StderrBytes - e.StderrKept);
        return e.CaptureCode is null && lost == 0
            ? new LogCapture()
            : new LogCapture("incomplete", e.CaptureCode ?? ExecutionCaptureCodes.OutputTruncated, lost.ToString(CultureInfo.InvariantCulture));
    }

    public static ExecutionEvent ToContract(ExecutionEventRecord e) =>
        new(e.Sequence, e.Type, e.At, e.Chunk, e.Status, e.ExitCode, e.Signal, e.ErrorCode, e.ErrorMessage);

    public static ExecutionLogStatus LogStatus(ExecutionRecord e) => new(
        e.Id,
        Capture(e),
        null,
        e.StreamId,
        new LogPublication(!e.IsLive, 0, e.IsLive ? "active" : "closed"));
}
