using System.Data.Common;
using System.Text;
using System.Text.Json;

namespace Dedalus.Server.Store.Sqlite;

public sealed partial class SqliteStore
{
    private const string ExecutionColumns =
        "seq, id, org_id, machine_id, status, command, cwd, env_keys, timeout_ms, runner, stream_id, token_epoch, creation_request_id, creation_trace_id, " +
        "created_at, started_at, completed_at, expires_at, exit_code, signal, error_code, error_message, stdout_bytes, stderr_bytes, stdout_kept, stderr_kept, " +
        "capture_code, last_sequence, cancel_requested";

    private const string LiveExecutionStatus = "status IN ('wake_in_progress', 'queued', 'running')";

    private const string EventColumns = "sequence, type, at, chunk, status, exit_code, signal, error_code, error_message";

    public Task<ExecutionRecord?> InsertExecutionAsync(
        ExecutionRecord execution, ExecutionEventRecord created, Action<IResourceReader>? admit = null, byte[]? sealedInput = null, CancellationToken cancellationToken = default) =>
        WriteAsync(scope =>
        {
            // Creating an execution is activity: the machine does not autosleep before it runs.
            if (scope.Scalar("UPDATE machines SET last_activity_at = max(last_activity_at, $2) WHERE id = $1 RETURNING revision", execution.MachineId, Ms(execution.CreatedAt)) is null)
            {
                return null;
            }

            admit?.Invoke(new ResourceReader(scope.Command));
            var seq = (long)scope.Scalar(
                "INSERT INTO executions (id, org_id, machine_id, status, command, cwd, env_keys, timeout_ms, runner, stream_id, creation_request_id, creation_trace_id, created_at, " +
                "last_sequence, sealed_input) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14) RETURNING seq",
                execution.Id, execution.OrgId, execution.MachineId, execution.Status, Json(execution.Command), execution.Cwd, Json(execution.EnvKeys), execution.TimeoutMs,
                execution.Runner, execution.StreamId, execution.CreationRequestId, execution.CreationTraceId, Ms(execution.CreatedAt), sealedInput)!;
            InsertEvent(scope, seq, created with { Sequence = 1 });
            return execution with { Seq = seq, LastSequence = 1 };
        }, transaction: true, cancellationToken);

    public async Task<ExecutionRecord?> GetExecutionAsync(string executionId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(connection, $"SELECT {ExecutionColumns} FROM executions WHERE id = $1", executionId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadExecution(reader) : null;
    }

    public async Task<Page<ExecutionRecord>> ListExecutionsAsync(string machineId, long after, int limit, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(connection, $"SELECT {ExecutionColumns} FROM executions WHERE machine_id = $1 AND seq > $2 ORDER BY seq LIMIT $3", machineId, after, limit + 1);
        return await ReadPageAsync(command, limit, ReadExecution, cancellationToken).ConfigureAwait(false);
    }

    public Task<ExecutionRecord?> UpdateExecutionAsync(ExecutionRecord execution, IReadOnlyList<ExecutionEventRecord> events, int keepPerMachine, CancellationToken cancellationToken = default) =>
        WriteAsync(scope =>
        {
            // Sequences follow the stored last one, under the write lock: a reader that paged to sequence N never sees a later event below N.
            var last = scope.Scalar(
                "UPDATE executions SET status = $2, started_at = $3, completed_at = $4, expires_at = $5, exit_code = $6, signal = $7, error_code = $8, error_message = $9, " +
                "stdout_bytes = $10, stderr_bytes = $11, stdout_kept = $12, stderr_kept = $13, capture_code = $14, last_sequence = last_sequence + $15, " +
                $"sealed_input = CASE WHEN $2 IN ('wake_in_progress', 'queued', 'running') THEN sealed_input END " +
                $"WHERE seq = $1 AND {LiveExecutionStatus} RETURNING last_sequence",
                execution.Seq, execution.Status, Ms(execution.StartedAt), Ms(execution.CompletedAt), Ms(execution.ExpiresAt), execution.ExitCode, execution.Signal,
                execution.ErrorCode, execution.ErrorMessage, execution.StdoutBytes, execution.StderrBytes, execution.StdoutKept, execution.StderrKept,
                execution.CaptureCode, (long)events.Count);
            if (last is not long lastSequence)
            {
                return null;
            }

            var sequence = lastSequence - events.Count;
            foreach (var e in events)
            {
                InsertEvent(scope, execution.Seq, e with { Sequence = ++sequence });
            }

            if (!execution.IsLive)
            {
                // The machine keeps its newest finished executions only (with their events): a bound on what one machine stores.
                scope.Execute(
                    "DELETE FROM executions WHERE machine_id = $1 AND seq <= (SELECT seq FROM executions WHERE machine_id = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2) " +
                    $"AND NOT {LiveExecutionStatus}",
                    execution.MachineId, keepPerMachine);
            }

            return execution with { LastSequence = lastSequence };
        }, transaction: true, cancellationToken);

    public async Task<IReadOnlyList<ExecutionEventRecord>> ListExecutionEventsAsync(long executionSeq, long after, int limit, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(
            connection, $"SELECT {EventColumns} FROM execution_events WHERE execution_seq = $1 AND sequence > $2 ORDER BY sequence LIMIT $3", executionSeq, after, limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var events = new List<ExecutionEventRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            events.Add(ReadEvent(reader));
        }

        return events;
    }

    public async Task<(string Stdout, string Stderr)> GetExecutionOutputAsync(long executionSeq, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(
            connection, "SELECT type, chunk FROM execution_events WHERE execution_seq = $1 AND type IN ('stdout', 'stderr') ORDER BY sequence", executionSeq);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var (stdout, stderr) = (new StringBuilder(), new StringBuilder());
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            (reader.GetString(0) == "stdout" ? stdout : stderr).Append(StoreRows.Chunk(reader, 1));
        }

        return (stdout.ToString(), stderr.ToString());
    }

    public async Task<IReadOnlyList<ExecutionRecord>> ListOrphanedExecutionsAsync(string runner, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(
            connection, $"SELECT {ExecutionColumns} FROM executions WHERE {LiveExecutionStatus} AND runner <> $1 AND runner <> '' ORDER BY seq", runner);
        var page = await ReadPageAsync(command, int.MaxValue, ReadExecution, cancellationToken).ConfigureAwait(false);
        return page.Items;
    }

    public async Task<IReadOnlyList<ExecutionRecord>> ListUnclaimedExecutionsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var command = ReadCommand(connection, $"SELECT {ExecutionColumns} FROM executions WHERE {LiveExecutionStatus} AND runner = '' ORDER BY seq");
        var page = await ReadPageAsync(command, int.MaxValue, ReadExecution, cancellationToken).ConfigureAwait(false);
        return page.Items;
    }

    public Task<ClaimedExecution?> ClaimExecutionAsync(string executionId, string runner, CancellationToken cancellationToken = default) =>
        WriteAsync(scope =>
        {
            // The sealed input is read and deleted in the transaction that claims (writes are serialised): whoever claims holds the only copy.
            var sealedInput = scope.Scalar($"SELECT sealed_input FROM executions WHERE id = $1 AND runner = '' AND {LiveExecutionStatus}", executionId);
            using var reader = scope.Command(
                $"UPDATE executions SET runner = $2, sealed_input = NULL WHERE id = $1 AND runner = '' AND {LiveExecutionStatus} RETURNING {ExecutionColumns}",
                executionId, runner).ExecuteReader();
            return reader.Read() ? new ClaimedExecution(ReadExecution(reader), sealedInput as byte[]) : null;
        }, transaction: true, cancellationToken);

    public Task<ExecutionRecord?> RequestExecutionCancelAsync(string executionId, CancellationToken cancellationToken = default) =>
        WriteAsync(scope =>
        {
            scope.Execute($"UPDATE executions SET cancel_requested = 1 WHERE id = $1 AND {LiveExecutionStatus}", executionId);
            using var reader = scope.Command($"SELECT {ExecutionColumns} FROM executions WHERE id = $1", executionId).ExecuteReader();
            return reader.Read() ? ReadExecution(reader) : null;
        }, transaction: true, cancellationToken);

    public Task<int?> AdvanceExecutionTokenEpochAsync(string executionId, CancellationToken cancellationToken = default) =>
        WriteAsync(
            scope => scope.Scalar("UPDATE executions SET token_epoch = token_epoch + 1 WHERE id = $1 RETURNING token_epoch", executionId) is long epoch ? (int?)epoch : null,
            transaction: false,
            cancellationToken);

    public Task<int> DeleteExpiredExecutionsAsync(DateTimeOffset now, int batch, CancellationToken cancellationToken = default) =>
        WriteAsync(
            scope => scope.Execute(
                "DELETE FROM executions WHERE seq IN (SELECT seq FROM executions WHERE expires_at IS NOT NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $2)",
                Ms(now), batch),
            transaction: true,
            cancellationToken);

    private static void InsertEvent(WriteScope scope, long executionSeq, ExecutionEventRecord e) =>
        scope.Execute(
            $"INSERT INTO execution_events (execution_seq, {EventColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            executionSeq, e.Sequence, e.Type, Ms(e.At), e.Chunk is null ? null : Encoding.UTF8.GetBytes(e.Chunk), e.Status, e.ExitCode, e.Signal, e.ErrorCode, e.ErrorMessage);

    private static string Json(IReadOnlyList<string> values) => JsonSerializer.Serialize(values, StoreJsonContext.Default.IReadOnlyListString);

    private static ExecutionRecord ReadExecution(DbDataReader r) => StoreRows.ReadExecution(r);

    private static ExecutionEventRecord ReadEvent(DbDataReader r) => StoreRows.ReadEvent(r);
}
