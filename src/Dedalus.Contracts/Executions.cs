namespace Dedalus.Contracts;

/// <summary>Body of <c>POST /v1/machines/{id}/executions</c>: a command to run in the machine as the <c>machine</c> user.</summary>
/// <param name="Command">The argv (no shell): the program, then its arguments. Required and not empty.</param>
/// <param name="Cwd">Absolute working directory; the user's home (<c>/home/machine</c>) when absent.</param>
/// <param name="Env">Variables added to a clean environment; values are never echoed (<c>env_keys</c> lists the names).</param>
/// <param name="Stdin">Text written to the command's stdin, which is then closed (empty stdin when absent).</param>
/// <param name="TimeoutMs">Run time limit in milliseconds; the process tree gets SIGTERM, then SIGKILL after a grace period.</param>
public sealed record CreateExecutionRequest(
    IReadOnlyList<string?>? Command,
    string? Cwd = null,
    IReadOnlyDictionary<string, string?>? Env = null,
    string? Stdin = null,
    long? TimeoutMs = null);

/// <summary>How complete an execution's captured log is. Every member absent: complete.</summary>
/// <param name="State"><c>pending</c> (still capturing), <c>incomplete</c> (part of it was not kept) or <c>unavailable</c> (none).</param>
/// <param name="Code">Why it is incomplete or unavailable (<c>output_truncated</c>, <c>server_restarted</c>, <c>not_started</c>).</param>
/// <param name="LostBytes">Bytes of output that were counted but not kept, as a decimal string.</param>
/// <param name="UnconfirmedBytes">Bytes not yet confirmed as stored, as a decimal string.</param>
public sealed record LogCapture(string? State = null, string? Code = null, string? LostBytes = null, string? UnconfirmedBytes = null);

/// <summary>An artifact an execution produced (none are produced by this server yet).</summary>
/// <param name="ArtifactId">The artifact id.</param>
/// <param name="Name">Its name.</param>
public sealed record ExecutionArtifact(string ArtifactId, string Name);

/// <summary>A command run in a machine through the API.</summary>
/// <param name="ExecutionId">The execution id (<c>ex-</c> and 32 hex digits).</param>
/// <param name="MachineId">The machine it runs in.</param>
/// <param name="Status">See <see cref="ExecutionStatuses"/>.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="LogCapture">How complete the captured output is.</param>
/// <param name="Command">The argv as given.</param>
/// <param name="Cwd">The working directory.</param>
/// <param name="EnvKeys">The names of the variables given in <c>env</c> (never the values).</param>
/// <param name="StartedAt">When the process started.</param>
/// <param name="CompletedAt">When it ended.</param>
/// <param name="ExpiresAt">When the server forgets it (a retention period after it ends).</param>
/// <param name="ExitCode">The exit code, when the process exited.</param>
/// <param name="Signal">The signal that ended the process, when one did.</param>
/// <param name="ErrorCode">Why it failed or was cancelled (<see cref="ExecutionErrorCodes"/>).</param>
/// <param name="ErrorMessage">The same, in words.</param>
/// <param name="RetryAfterMs">Suggested poll delay while it is not finished.</param>
/// <param name="StdoutBytes">Every byte written to stdout, kept or not.</param>
/// <param name="StderrBytes">Every byte written to stderr, kept or not.</param>
/// <param name="StdoutTruncated">Whether the kept stdout was cut at the server's bound.</param>
/// <param name="StderrTruncated">Whether the kept stderr was cut at the server's bound.</param>
/// <param name="Artifacts">Artifacts produced (always empty here).</param>
/// <param name="CreationRequestId">The <c>Idempotency-Key</c> of the request that created it, when it had one.</param>
/// <param name="CreationTraceId">The trace id of the request that created it.</param>
public sealed record Execution(
    string ExecutionId,
    string MachineId,
    string Status,
    DateTimeOffset CreatedAt,
    LogCapture LogCapture,
    IReadOnlyList<string>? Command = null,
    string? Cwd = null,
    IReadOnlyList<string>? EnvKeys = null,
    DateTimeOffset? StartedAt = null,
    DateTimeOffset? CompletedAt = null,
    DateTimeOffset? ExpiresAt = null,
    int? ExitCode = null,
    int? Signal = null,
    string? ErrorCode = null,
    string? ErrorMessage = null,
    long? RetryAfterMs = null,
    long? StdoutBytes = null,
    long? StderrBytes = null,
    bool? StdoutTruncated = null,
    bool? StderrTruncated = null,
    IReadOnlyList<ExecutionArtifact>? Artifacts = null,
    string? CreationRequestId = null,
    string? CreationTraceId = null);

/// <summary>One page of executions, newest last.</summary>
/// <param name="Items">The executions on this page.</param>
/// <param name="NextCursor">Opaque cursor for the next page; absent on the last page.</param>
public sealed record ExecutionList(IReadOnlyList<Execution> Items, string? NextCursor = null);

/// <summary>The kept output of an execution (<c>GET .../executions/{id}/output</c>).</summary>
/// <param name="ExecutionId">The execution id.</param>
/// <param name="Stdout">The kept stdout, as UTF-8 text (invalid sequences become U+FFFD).</param>
/// <param name="Stderr">The kept stderr, likewise.</param>
/// <param name="StdoutBytes">Every byte written to stdout, kept or not.</param>
/// <param name="StderrBytes">Every byte written to stderr, kept or not.</param>
/// <param name="StdoutTruncated">Whether the kept stdout was cut.</param>
/// <param name="StderrTruncated">Whether the kept stderr was cut.</param>
public sealed record ExecutionOutput(
    string ExecutionId,
    string? Stdout = null,
    string? Stderr = null,
    long? StdoutBytes = null,
    long? StderrBytes = null,
    bool? StdoutTruncated = null,
    bool? StderrTruncated = null);

/// <summary>One event of an execution, in <c>sequence</c> order: a status change or a chunk of output.</summary>
/// <param name="Sequence">Position in the execution's events, from 1, without gaps.</param>
/// <param name="Type"><c>lifecycle</c>, <c>stdout</c> or <c>stderr</c> (<see cref="ExecutionEventTypes"/>).</param>
/// <param name="At">When it happened.</param>
/// <param name="Chunk">The output text of a <c>stdout</c>/<c>stderr</c> event.</param>
/// <param name="Status">The execution's new status, on a <c>lifecycle</c> event.</param>
/// <param name="ExitCode">The exit code, on the final <c>lifecycle</c> event.</param>
/// <param name="Signal">The ending signal, on the final <c>lifecycle</c> event.</param>
/// <param name="ErrorCode">Why it failed, on a final <c>lifecycle</c> event.</param>
/// <param name="ErrorMessage">The same, in words.</param>
public sealed record ExecutionEvent(
    long Sequence,
    string Type,
    DateTimeOffset At,
    string? Chunk = null,
    string? Status = null,
    int? ExitCode = null,
    int? Signal = null,
    string? ErrorCode = null,
    string? ErrorMessage = null);

/// <summary>One page of an execution's events.</summary>
/// <param name="Items">The events on this page, in <c>sequence</c> order.</param>
/// <param name="NextCursor">
/// Cursor after the last event given: present when more events are stored, and while the execution is not finished
/// (ask again with it to get what comes next); absent once everything has been read.
/// </param>
public sealed record ExecutionEventList(IReadOnlyList<ExecutionEvent> Items, string? NextCursor = null);

/// <summary>The publication of an execution's log to the log-read service.</summary>
/// <param name="Complete">Whether every event has been published (the execution ended).</param>
/// <param name="QueuedMessages">Events not yet published (always 0: the service reads the store).</param>
/// <param name="State"><c>active</c>, <c>finishing</c>, <c>failed</c> or <c>closed</c>.</param>
/// <param name="Code">Why it failed, when it did.</param>
public sealed record LogPublication(bool Complete, long QueuedMessages, string State, string? Code = null);

/// <summary>The log sub-resource of an execution (<c>GET .../logs</c>, <c>POST .../logs/reauthorize</c>).</summary>
/// <param name="ExecutionId">The execution id.</param>
/// <param name="Capture">How complete the captured log is.</param>
/// <param name="Code">Why the log is not available, when it is not.</param>
/// <param name="StreamId">The execution's log stream on the log-read service.</param>
/// <param name="Publication">The publication's state.</param>
public sealed record ExecutionLogStatus(string ExecutionId, LogCapture Capture, string? Code = null, string? StreamId = null, LogPublication? Publication = null);

/// <summary>A short-lived bearer token that reads one execution's log stream (<c>POST .../logs/token</c>).</summary>
/// <param name="AccessToken">The token: <c>Authorization: Bearer &lt;token&gt;</c> on the log-read service.</param>
/// <param name="TokenType">Always <c>Bearer</c>.</param>
/// <param name="BaseUrl">The log-read service: <c>GET {base_url}/streams/{stream_id}</c> streams the log as NDJSON events.</param>
/// <param name="ExecutionId">The execution id.</param>
/// <param name="StreamId">The one stream the token reads.</param>
/// <param name="ExpiresAt">When the token stops working.</param>
public sealed record ExecutionLogToken(string AccessToken, string TokenType, string BaseUrl, string ExecutionId, string StreamId, DateTimeOffset ExpiresAt);

/// <summary>Execution statuses.</summary>
public static class ExecutionStatuses
{
    /// <summary>Waiting for its sleeping machine to wake.</summary>
    public const string WakeInProgress = "wake_in_progress";
    /// <summary>Accepted; the process is being started.</summary>
    public const string Queued = "queued";
    /// <summary>The process runs.</summary>
    public const string Running = "running";
    /// <summary>It exited with code 0; terminal.</summary>
    public const string Succeeded = "succeeded";
    /// <summary>It exited with another code, was killed, timed out or could not start; terminal, see <c>error_code</c>.</summary>
    public const string Failed = "failed";
    /// <summary>Cancelled with DELETE; terminal.</summary>
    public const string Cancelled = "cancelled";
    /// <summary>Forgotten by retention (never returned: an expired execution is gone); terminal.</summary>
    public const string Expired = "expired";

    /// <summary>Whether <paramref name="status"/> is terminal.</summary>
    public static bool IsFinished(string status) => status is Succeeded or Failed or Cancelled or Expired;
}

/// <summary>The <c>code</c> values of <see cref="LogCapture"/>.</summary>
public static class ExecutionCaptureCodes
{
    /// <summary>A stream wrote more than the server keeps; <c>lost_bytes</c> says how much was not kept.</summary>
    public const string OutputTruncated = "output_truncated";
    /// <summary>The server restarted while the execution ran: output written after that was not captured.</summary>
    public const string ServerRestarted = "server_restarted";
}

/// <summary>Types of execution events.</summary>
public static class ExecutionEventTypes
{
    /// <summary>A status change.</summary>
    public const string Lifecycle = "lifecycle";
    /// <summary>Output on stdout.</summary>
    public const string Stdout = "stdout";
    /// <summary>Output on stderr.</summary>
    public const string Stderr = "stderr";
}

/// <summary>The <c>error_code</c> values of executions.</summary>
public static class ExecutionErrorCodes
{
    /// <summary>The process exited with a code other than 0.</summary>
    public const string NonzeroExit = "nonzero_exit";
    /// <summary>A signal the server did not send ended the process.</summary>
    public const string KilledBySignal = "killed_by_signal";
    /// <summary><c>timeout_ms</c> passed: the process tree got SIGTERM, then SIGKILL after the grace period.</summary>
    public const string Timeout = "timeout";
    /// <summary>Cancelled with DELETE.</summary>
    public const string Cancelled = "cancelled";
    /// <summary>The process could not start (a missing <c>cwd</c>, for example); <c>error_message</c> says why.</summary>
    public const string StartFailed = "start_failed";
    /// <summary>The machine went to sleep while the execution waited or ran.</summary>
    public const string MachineStopped = "machine_stopped";
    /// <summary>The machine was destroyed.</summary>
    public const string MachineDestroyed = "machine_destroyed";
    /// <summary>The machine failed to wake.</summary>
    public const string MachineFailed = "machine_failed";
    /// <summary>The server restarted while the execution waited or ran; its processes were ended.</summary>
    public const string ServerRestarted = "server_restarted";
}
