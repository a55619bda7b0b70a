using Dedalus.Contracts;
using Dedalus.Server.Cluster;
using Dedalus.Server.Errors;
using Dedalus.Server.Hosting;
using Dedalus.Server.Machines;
using Dedalus.Server.Quotas;
using Dedalus.Server.Store;

namespace Dedalus.Server.Executions;

/// <summary>
/// The execution operations of a caller's machine: create (validate, store, wake the machine if needed, run), list,
/// get, cancel, output, events (with an optional wait for the next one) and the log sub-resource. Status changes
/// belong to the execution's runner (<see cref="ExecutionSupervisor"/>); reads never write. Only the node that owns the
/// machine runs its executions: a create that reaches another node stores the execution unclaimed, its unstored input
/// sealed (<see cref="ExecutionInputSeal"/>), and signals the owner, which claims and runs it.
/// </summary>
public sealed class ExecutionService(
    IStore store,
    MachineService machines,
    ExecutionSupervisor supervisor,
    ExecutionChangeFeed feed,
    QuotaService quotas,
    ExecutionInputSeal seal,
    LocalNode local,
    IClusterBus bus,
    ServerOptions options,
    TimeProvider timeProvider,
    ILogger<ExecutionService> logger)
{
    /// <summary>The longest a caller may ask the events list to wait for the next event.</summary>
    public const int MaxWaitMs = 30_000;

    public async Task<(ExecutionRecord Execution, MachineRecord Machine)> CreateAsync(
        string orgId, string rawMachineId, CreateExecutionRequest request, string? requestId, string? traceId, CancellationToken cancellationToken = default)
    {
        var machine = await machines.GetAsync(orgId, rawMachineId, cancellationToken).ConfigureAwait(false);
        var input = ExecutionInput.From(request);
        if (machine.DesiredState == DesiredStates.Destroyed || machine.Phase is MachinePhases.Destroying or MachinePhases.Destroyed)
        {
            throw DomainException.InvalidState($"machine {machine.Id} is destroyed: nothing can run on it", machine.DesiredState, machine.Phase, MachinePhases.Running, DesiredStates.Running);
        }

        if (machine.Phase == MachinePhases.Failed)
        {
            throw DomainException.InvalidState(
                $"machine {machine.Id} failed ({machine.LastError ?? machine.Reason}); wake it again (POST /v1/machines/{machine.Id}/wake) once the cause is fixed",
                machine.DesiredState, machine.Phase, MachinePhases.Running, DesiredStates.Running);
        }

        var running = machine.Phase == MachinePhases.Running && machine.DesiredState == DesiredStates.Running;
        var status = running ? ExecutionStatuses.Queued : ExecutionStatuses.WakeInProgress;
        // Stored to the millisecond: the answer shows what a later read shows.
        var now = DateTimeOffset.FromUnixTimeMilliseconds(timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        var owned = local.Owns(machine.NodeId);
        var execution = new ExecutionRecord
        {
            Id = ExecutionIds.New(),
            OrgId = orgId,
            MachineId = machine.Id,
            Status = status,
            Command = input.Command,
            Cwd = input.Cwd ?? "/home/" + options.SshUsername,
            EnvKeys = [.. input.Env.Keys.Order(StringComparer.Ordinal)],
            TimeoutMs = input.TimeoutMs,
            // Another node's machine: unclaimed until its node claims it (runc is local to that node).
            Runner = owned ? supervisor.RunnerId : "",
            StreamId = ExecutionIds.NewStream(),
            CreationRequestId = requestId,
            CreationTraceId = traceId,
            CreatedAt = now,
        };
        var created = new ExecutionEventRecord { Type = ExecutionEventTypes.Lifecycle, At = now, Status = status };
        var sealedInput = owned ? null : seal.Seal(execution.Id, input);
        var stored = await store.InsertExecutionAsync(execution, created, quotas.AdmitExecution(orgId, machine.Id, options.ExecutionsPerMachine), sealedInput, cancellationToken)
            .ConfigureAwait(false) ?? throw DomainException.NotFound(NotFoundResources.Machine, $"machine {machine.Id} not found");
        ServerLog.ExecutionCreated(logger, stored.Id, machine.Id, input.Command[0], input.Command.Count, status);

        // Stored: it must run (and the machine wake) even if the caller hangs up now.
        if (!running)
        {
            machine = await machines.RequestWakeAsync(machine, CancellationToken.None).ConfigureAwait(false);
        }

        if (owned)
        {
            supervisor.Start(stored, input);
        }
        else
        {
            // The owner also finds it at its start-up, resync and sweep: a lost signal delays it, never loses it.
            ServerLog.ExecutionHandedOff(logger, stored.Id, machine.Id, machine.NodeId!);
            bus.Send(new ClusterSignal(ClusterSignalKind.Execution, stored.Id, machine.NodeId!));
        }

        return (stored, machine);
    }

    public async Task<ExecutionRecord> GetAsync(string orgId, string rawMachineId, string executionId, CancellationToken cancellationToken = default)
    {
        var machine = await machines.GetAsync(orgId, rawMachineId, cancellationToken).ConfigureAwait(false);
        return await FindAsync(machine, executionId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Page<ExecutionRecord>> ListAsync(string orgId, string rawMachineId, long after, int limit, CancellationToken cancellationToken = default)
    {
        var machine = await machines.GetAsync(orgId, rawMachineId, cancellationToken).ConfigureAwait(false);
        return await store.ListExecutionsAsync(machine.Id, after, limit, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Cancels a live execution (it ends as <c>cancelled</c>, its processes gone); a finished one is returned as it is. On
    /// a node that does not own the machine, the cancel is recorded for the owner, and the answer waits (bounded) for it.
    /// </summary>
    public async Task<ExecutionRecord> CancelAsync(string orgId, string rawMachineId, string executionId, CancellationToken cancellationToken = default)
    {
        var execution = await GetAsync(orgId, rawMachineId, executionId, cancellationToken).ConfigureAwait(false);
        return execution.IsLive ? await supervisor.CancelAsync(execution, cancellationToken).ConfigureAwait(false) : execution;
    }

    public async Task<(ExecutionRecord Execution, string Stdout, string Stderr)> OutputAsync(
        string orgId, string rawMachineId, string executionId, CancellationToken cancellationToken = default)
    {
        var execution = await GetAsync(orgId, rawMachineId, executionId, cancellationToken).ConfigureAwait(false);
        var (stdout, stderr) = await store.GetExecutionOutputAsync(execution.Seq, cancellationToken).ConfigureAwait(false);

        // The counts as of the output read: read the row again, so bytes and text agree for a finished execution.
        var after = await store.GetExecutionAsync(execution.Id, cancellationToken).ConfigureAwait(false) ?? execution;
        return (after.IsLive ? execution : after, stdout, stderr);
    }

    /// <summary>
    /// Events after <paramref name="after"/>, at most <paramref name="limit"/>; with <paramref name="waitMs"/> &gt; 0 and none
    /// stored yet for a live execution, waits up to that long for the next. <c>More</c> says whether a next page may hold
    /// events: more are stored, or the execution is still live.
    /// </summary>
    public async Task<(IReadOnlyList<ExecutionEventRecord> Events, bool More)> EventsAsync(
        string orgId, string rawMachineId, string executionId, long after, int limit, int waitMs, CancellationToken cancellationToken = default)
    {
        var execution = await GetAsync(orgId, rawMachineId, executionId, cancellationToken).ConfigureAwait(false);
        return await ReadEventsAsync(execution, after, limit, waitMs, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The events of <paramref name="execution"/> (see <see cref="EventsAsync"/>); also the log stream's reader.</summary>
    public async Task<(IReadOnlyList<ExecutionEventRecord> Events, bool More)> ReadEventsAsync(
        ExecutionRecord execution, long after, int limit, int waitMs, CancellationToken cancellationToken)
    {
        var deadline = timeProvider.GetUtcNow() + TimeSpan.FromMilliseconds(waitMs);
        while (true)
        {
            // The status is read before the events: when it is final, its last events were committed with it.
            var change = feed.NextChangeAsync(execution.Id, CancellationToken.None);
            var current = await store.GetExecutionAsync(execution.Id, cancellationToken).ConfigureAwait(false) ?? execution;
            var events = await store.ListExecutionEventsAsync(execution.Seq, after, limit + 1, cancellationToken).ConfigureAwait(false);
            if (events.Count > limit)
            {
                return ([.. events.Take(limit)], true);
            }

            var left = deadline - timeProvider.GetUtcNow();
            if (events.Count > 0 || !current.IsLive || left <= TimeSpan.Zero)
            {
                return (events, current.IsLive);
            }

            try
            {
                await change.WaitAsync(left, timeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    /// <summary>Raises the execution's log token epoch: every read token issued before stops working.</summary>
    public async Task<ExecutionRecord> ReauthorizeLogsAsync(string orgId, string rawMachineId, string executionId, CancellationToken cancellationToken = default)
    {
        var execution = await GetAsync(orgId, rawMachineId, executionId, cancellationToken).ConfigureAwait(false);
        await store.AdvanceExecutionTokenEpochAsync(execution.Id, cancellationToken).ConfigureAwait(false);
        return await store.GetExecutionAsync(execution.Id, cancellationToken).ConfigureAwait(false) ?? execution;
    }

    private async Task<ExecutionRecord> FindAsync(MachineRecord machine, string executionId, CancellationToken cancellationToken)
    {
        if (!ExecutionIds.IsWellFormed(executionId))
        {
            throw DomainException.NotFound(NotFoundResources.Execution, $"execution {Truncate(executionId)} not found");
        }

        var execution = await store.GetExecutionAsync(executionId, cancellationToken).ConfigureAwait(false);
        return execution is not null && execution.MachineId == machine.Id && execution.OrgId == machine.OrgId
            ? execution
            : throw DomainException.NotFound(NotFoundResources.Execution, $"execution {executionId} not found on machine {machine.Id}");
    }

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "...";
}
