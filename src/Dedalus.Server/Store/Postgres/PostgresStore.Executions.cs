using System.Data.Common;
using System.Text;
using System.Text.Json;
using NpgsqlTypes;

namespace Dedalus.Server.Store.Postgres;

public sealed partial class PostgresStore
{
    private const string ExecutionColumns =
        "seq, id, org_id, machine_id, status, command, cwd, env_keys, timeout_ms, runner, stream_id, token_epoch, creation_request_id, creation_trace_id, " +
        "created_at, started_at, completed_at, expires_at, exit_code, signal, error_code, error_message, stdout_bytes, stderr_bytes, stdout_kept, stderr_kept, " +
        "capture_code, last_sequence, cancel_requested";

    private const string LiveExecutionStatus = "status IN ('wake_in_progress', 'queued', 'running')";

    private const string EventColumns = "sequence, type, at, chunk, status, exit_code, signal, error_code, error_message";

    /// <summary>The events given to a write, as arrays from <c>$first</c> on, unnested in order (WITH ORDINALITY).</summary>
    private static string UnnestEvents(int first) => string.Create(
        System.Globalization.CultureInfo.InvariantCulture,
        $"unnest(${first}::text[], ${first + 1}::bigint[], ${first + 2}::bytea[], ${first + 3}::text[], ${first + 4}::integer[], ${first + 5}::integer[], " +
        $"${first + 6}::text[], ${first + 7}::text[]) WITH ORDINALITY AS e(type, at, chunk, status, exit_code, signal, error_code, error_message, ord)");

    public Task<ExecutionRecord?> InsertExecutionAsync(
        ExecutionRecord execution, ExecutionEventRecord created, Action<IResourceReader>? admit = null, byte[]? sealedInput = null, CancellationToken cancellationToken = default) =>
        // The org lock: the executions quota counts this org's live executions, and the machine's list pages by seq.
        WriteAsync(execution.OrgId, async scope =>
        {

            // Creating an execution is activity: the machine does not autosleep before it runs.
            if (await scope.ScalarAsync(
                    "UPDATE machines SET last_activity_at = GREATEST(last_activity_at, $2) WHERE id = $1 RETURNING revision", execution.MachineId, Ms(execution.CreatedAt))
                .ConfigureAwait(false) is null)
            {
                return null;
            }

            await scope.AdmitAsync(admit).ConfigureAwait(false);
            var seq = (long)(await scope.ScalarAsync(
                "WITH x AS (INSERT INTO executions (id, org_id, machine_id, status, command, cwd, env_keys, timeout_ms, runner, stream_id, creation_request_id, " +
                "creation_trace_id, created_at, last_sequence, sealed_input) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14) RETURNING seq) " +
                $"INSERT INTO execution_events (execution_seq, {EventColumns}) SELECT x.seq, e.ord, e.type, e.at, e.chunk, e.status, e.exit_code, e.signal, " +
                $"e.error_code, e.error_message FROM x, {UnnestEvents(15)} RETURNING execution_seq",
                [
                    execution.Id, execution.OrgId, execution.MachineId, execution.Status, Json(execution.Command), Text(execution.Cwd), Json(execution.EnvKeys),
                    execution.TimeoutMs, execution.Runner, execution.StreamId, Text(execution.CreationRequestId), Text(execution.CreationTraceId), Ms(execution.CreatedAt),
                    Bytes(sealedInput), .. EventArrays([created]),
                ]).ConfigureAwait(false))!;
            return execution with { Seq = seq, LastSequence = 1 };
        }, cancellationToken);

    public Task<ExecutionRecord?> GetExecutionAsync(string executionId, CancellationToken cancellationToken = default) =>
        QuerySingleAsync($"SELECT {ExecutionColumns} FROM executions WHERE id = $1", [executionId], ReadExecution, cancellationToken);

    public Task<Page<ExecutionRecord>> ListExecutionsAsync(string machineId, long after, int limit, CancellationToken cancellationToken = default) =>
        PageAsync(
            $"SELECT {ExecutionColumns} FROM executions WHERE machine_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            [machineId, after, limit + 1L],
            limit,
            ReadExecution,
            cancellationToken);

    public async Task<ExecutionRecord?> UpdateExecutionAsync(ExecutionRecord execution, IReadOnlyList<ExecutionEventRecord> events, int keepPerMachine, CancellationToken cancellationToken = default)
    {
        // Sequences follow the stored last one under the execution's row lock (the update takes it, and a second writer
        // waits for the first to commit): a reader that paged to sequence N never sees a later event below N. One
        // statement writes the state and the events.
        object?[] values =
        [
            execution.Seq, execution.Status, Ms(execution.StartedAt), Ms(execution.CompletedAt), Ms(execution.ExpiresAt), Int4(execution.ExitCode), Int4(execution.Signal),
            Text(execution.ErrorCode), Text(execution.ErrorMessage), execution.StdoutBytes, execution.StderrBytes, execution.StdoutKept, execution.StderrKept,
            Text(execution.CaptureCode), (long)events.Count, .. EventArrays(events),
        ];
        const string Update =
            "WITH u AS (UPDATE executions SET status = $2, started_at = $3, completed_at = $4, expires_at = $5, exit_code = $6, signal = $7, error_code = $8, " +
            "error_message = $9, stdout_bytes = $10, stderr_bytes = $11, stdout_kept = $12, stderr_kept = $13, capture_code = $14, last_sequence = last_sequence + $15, " +
            "sealed_input = CASE WHEN $2 IN ('wake_in_progress', 'queued', 'running') THEN sealed_input END " +
            $"WHERE seq = $1 AND {LiveExecutionStatus} RETURNING last_sequence), " +
            $"ev AS (INSERT INTO execution_events (execution_seq, {EventColumns}) SELECT $1, u.last_sequence - $15 + e.ord, e.type, e.at, e.chunk, e.status, " +
            "e.exit_code, e.signal, e.error_code, e.error_message FROM u, ";
        var sql = Update + UnnestEvents(16) + ") SELECT last_sequence FROM u";
        if (execution.IsLive)
        {
            // Autocommit: the statement is the whole write.
            return await ScalarAsync(sql, values, cancellationToken).ConfigureAwait(false) is long live ? execution with { LastSequence = live } : null;
        }

        return await WriteAsync(async scope =>
        {
            if (await scope.ScalarAsync(sql, values).ConfigureAwait(false) is not long lastSequence)
            {
                return null;
            }

            // The machine keeps its newest finished executions only (with their events): a bound on what one machine stores.
            await scope.ExecuteAsync(
                "DELETE FROM executions WHERE machine_id = $1 AND seq <= (SELECT seq FROM executions WHERE machine_id = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2) " +
                $"AND NOT {LiveExecutionStatus}",
                execution.MachineId, (long)keepPerMachine).ConfigureAwait(false);
            return execution with { LastSequence = lastSequence };
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ExecutionEventRecord>> ListExecutionEventsAsync(long executionSeq, long after, int limit, CancellationToken cancellationToken = default) =>
        await QueryAsync(
            $"SELECT {EventColumns} FROM execution_events WHERE execution_seq = $1 AND sequence > $2 ORDER BY sequence LIMIT $3",
            [executionSeq, after, (long)limit],
            ReadEvent,
            cancellationToken).ConfigureAwait(false);

    public async Task<(string Stdout, string Stderr)> GetExecutionOutputAsync(long executionSeq, CancellationToken cancellationToken = default)
    {
        var chunks = await QueryAsync(
            "SELECT type, chunk FROM execution_events WHERE execution_seq = $1 AND type IN ('stdout', 'stderr') ORDER BY sequence",
            [executionSeq],
            r => (Type: r.GetString(0), Chunk: StoreRows.Chunk(r, 1)),
            cancellationToken).ConfigureAwait(false);
        var (stdout, stderr) = (new StringBuilder(), new StringBuilder());
        foreach (var (type, chunk) in chunks)
        {
            (type == "stdout" ? stdout : stderr).Append(chunk);
        }

        return (stdout.ToString(), stderr.ToString());
    }

    public async Task<IReadOnlyList<ExecutionRecord>> ListOrphanedExecutionsAsync(string runner, CancellationToken cancellationToken = default) =>
        await QueryAsync(
            $"SELECT {ExecutionColumns} FROM executions WHERE {LiveExecutionStatus} AND runner <> $1 AND runner <> '' ORDER BY seq", [runner], ReadExecution, cancellationToken)
            .ConfigureAwait(false);

    public async Task<IReadOnlyList<ExecutionRecord>> ListUnclaimedExecutionsAsync(CancellationToken cancellationToken = default) =>
        await QueryAsync($"SELECT {ExecutionColumns} FROM executions WHERE {LiveExecutionStatus} AND runner = '' ORDER BY seq", [], ReadExecution, cancellationToken)
            .ConfigureAwait(false);

    public Task<ClaimedExecution?> ClaimExecutionAsync(string executionId, string runner, CancellationToken cancellationToken = default) =>
        // One statement: the row lock of FOR UPDATE makes a second claimer wait, then find the runner set and claim nothing;
        // the sealed input is returned from before the update and deleted by it.
        QuerySingleAsync(
            $"WITH old AS (SELECT id AS claim_id, sealed_input AS claimed_input FROM executions WHERE id = $1 AND runner = '' AND {LiveExecutionStatus} FOR UPDATE) " +
            $"UPDATE executions SET runner = $2, sealed_input = NULL FROM old WHERE id = old.claim_id AND runner = '' AND {LiveExecutionStatus} " +
            $"RETURNING {ExecutionColumns}, old.claimed_input",
            [executionId, runner],
            r => new ClaimedExecution(ReadExecution(r), r.IsDBNull(29) ? null : r.GetFieldValue<byte[]>(29)),
            cancellationToken);

    public async Task<ExecutionRecord?> RequestExecutionCancelAsync(string executionId, CancellationToken cancellationToken = default) =>
        await QuerySingleAsync(
            $"UPDATE executions SET cancel_requested = true WHERE id = $1 AND {LiveExecutionStatus} RETURNING {ExecutionColumns}", [executionId], ReadExecution, cancellationToken)
            .ConfigureAwait(false)
        ?? await GetExecutionAsync(executionId, cancellationToken).ConfigureAwait(false);

    public async Task<int?> AdvanceExecutionTokenEpochAsync(string executionId, CancellationToken cancellationToken = default) =>
        await ScalarAsync("UPDATE executions SET token_epoch = token_epoch + 1 WHERE id = $1 RETURNING token_epoch", [executionId], cancellationToken).ConfigureAwait(false)
            is int epoch ? epoch : null;

    public async Task<int> DeleteExpiredExecutionsAsync(DateTimeOffset now, int batch, CancellationToken cancellationToken = default) =>
        (await BatchAsync(
            [
                // One retention delete at a time across processes (held to the end of the batch's implicit transaction).
                Statement("SELECT pg_advisory_xact_lock($1, $2)", LockSpace, RetentionLock),
                Statement(
                    "DELETE FROM executions WHERE seq IN (SELECT seq FROM executions WHERE expires_at IS NOT NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $2)",
                    Ms(now), (long)batch),
            ],
            cancellationToken).ConfigureAwait(false))[1];

    /// <summary>Events as eight column arrays (the parameters of <see cref="UnnestEvents"/>); a chunk is stored as its UTF-8 bytes.</summary>
    private static object?[] EventArrays(IReadOnlyList<ExecutionEventRecord> events) =>
    [
        Array(NpgsqlDbType.Text, events.Select(e => e.Type).ToArray()),
        Array(NpgsqlDbType.Bigint, events.Select(e => Ms(e.At)).ToArray()),
        Array(NpgsqlDbType.Bytea, events.Select(e => e.Chunk is null ? null : Encoding.UTF8.GetBytes(e.Chunk)).ToArray()),
        Array(NpgsqlDbType.Text, events.Select(e => e.Status).ToArray()),
        Array(NpgsqlDbType.Integer, events.Select(e => e.ExitCode).ToArray()),
        Array(NpgsqlDbType.Integer, events.Select(e => e.Signal).ToArray()),
        Array(NpgsqlDbType.Text, events.Select(e => e.ErrorCode).ToArray()),
        Array(NpgsqlDbType.Text, events.Select(e => e.ErrorMessage).ToArray()),
    ];

    private static Npgsql.NpgsqlParameter Array(NpgsqlDbType elementType, object values) => new() { NpgsqlDbType = NpgsqlDbType.Array | elementType, Value = values };

    private static string Json(IReadOnlyList<string> values) => JsonSerializer.Serialize(values, StoreJsonContext.Default.IReadOnlyListString);

    private static ExecutionRecord ReadExecution(DbDataReader r) => StoreRows.ReadExecution(r);

    private static ExecutionEventRecord ReadEvent(DbDataReader r) => StoreRows.ReadEvent(r);
}
