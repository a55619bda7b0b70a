namespace Dedalus.Server.Store;

/// <summary>An execution row. Neither stdin nor the values of <c>env</c> are ever stored.</summary>
public sealed record ExecutionRecord
{
    /// <summary>The row's position: list order and the key of its events.</summary>
    public long Seq { get; init; }
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string MachineId { get; init; }
    public required string Status { get; init; }
    public required IReadOnlyList<string> Command { get; init; }
    public string? Cwd { get; init; }
    public required IReadOnlyList<string> EnvKeys { get; init; }
    public required long TimeoutMs { get; init; }

    /// <summary>
    /// The server process that drives it while it is live; empty while unclaimed (created on a node that does not own
    /// the machine, waiting for the owner to claim it).
    /// </summary>
    public required string Runner { get; init; }
    public required string StreamId { get; init; }
    public int TokenEpoch { get; init; }
    public string? CreationRequestId { get; init; }
    public string? CreationTraceId { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public int? ExitCode { get; init; }
    public int? Signal { get; init; }
    public string? ErrorCode { get; init; }
    public string? ErrorMessage { get; init; }
    public long StdoutBytes { get; init; }
    public long StderrBytes { get; init; }
    public long StdoutKept { get; init; }
    public long StderrKept { get; init; }

    /// <summary>Why the kept log is not the whole output (<c>output_truncated</c>, <c>server_restarted</c>, <c>not_started</c>).</summary>
    public string? CaptureCode { get; init; }
    public long LastSequence { get; init; }

    /// <summary>A DELETE reached a node that does not drive it: the owner's runner ends it as <c>cancelled</c>.</summary>
    public bool CancelRequested { get; init; }

    /// <summary>Created on a node that does not own its machine, and not yet claimed by the owner.</summary>
    public bool IsUnclaimed => Runner.Length == 0;

    public bool IsLive => Status is Contracts.ExecutionStatuses.WakeInProgress or Contracts.ExecutionStatuses.Queued or Contracts.ExecutionStatuses.Running;
}

/// <summary>An execution just claimed by a runner, with the input sealed for it (null when none was stored).</summary>
public sealed record ClaimedExecution(ExecutionRecord Execution, byte[]? SealedInput);

/// <summary>An execution event to store, or as stored (<see cref="Sequence"/> then set).</summary>
public sealed record ExecutionEventRecord
{
    public long Sequence { get; init; }
    public required string Type { get; init; }
    public required DateTimeOffset At { get; init; }
    public string? Chunk { get; init; }
    public string? Status { get; init; }
    public int? ExitCode { get; init; }
    public int? Signal { get; init; }
    public string? ErrorCode { get; init; }
    public string? ErrorMessage { get; init; }
}
