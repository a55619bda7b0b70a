using System.Collections.Concurrent;
using System.Security.Cryptography;
using Dedalus.Contracts;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Cluster;
using Dedalus.Server.Hosting;
using Dedalus.Server.Machines;
using Dedalus.Server.Store;

namespace Dedalus.Server.Executions;

/// <summary>
/// Runs the executions of this server process: one <see cref="ExecutionRunner"/> each, cancels them, and at start-up
/// ends the executions a previous process left live (their commands lost their pipes with it: they are killed and
/// stored <c>failed</c> with <c>server_restarted</c>, so none stays <c>running</c>). At shutdown, every running
/// execution is ended the same way. Retention deletes finished executions past their <c>expires_at</c>. Executions of
/// this node's machines created on other nodes are claimed from the store and run here (ExecutionSupervisor.Handoff.cs).
/// </summary>
public sealed partial class ExecutionSupervisor(
    IStore store,
    IMachineRuntime runtime,
    MachineChangeFeed machineFeed,
    ExecutionChangeFeed feed,
    MachineActivity activity,
    ExecutionInputSeal seal,
    IClusterBus bus,
    ServerOptions options,
    LocalNode local,
    TimeProvider timeProvider,
    ILogger<ExecutionSupervisor> logger) : IHostedService
{
    private static readonly TimeSpan CancelWait = TimeSpan.FromSeconds(15);
    private readonly ConcurrentDictionary<string, (ExecutionRunner Runner, Task Completion)> _runners = new(StringComparer.Ordinal);
    private volatile bool _stopping;

    /// <summary>This server process, as the <c>runner</c> of the executions it drives.</summary>
    public string RunnerId { get; } = "r-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    internal IStore Store => store;

    internal IMachineRuntime Runtime => runtime;

    internal MachineChangeFeed MachineFeed => machineFeed;

    internal MachineActivity Activity => activity;

    internal ServerOptions Options => options;

    internal TimeProvider Time => timeProvider;

    internal ILogger Logger => logger;

    /// <summary>Starts driving a stored execution, with what was not stored (stdin, env values).</summary>
    public void Start(ExecutionRecord execution, ExecutionInput input)
    {
        var runner = new ExecutionRunner(this, execution, input);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var completion = Task.Run(async () =>
        {
            await started.Task.ConfigureAwait(false);
            try
            {
                await runner.RunAsync().ConfigureAwait(false);
            }
            finally
            {
                _runners.TryRemove(execution.Id, out _);
                Changed(execution.Id);
            }
        });
        _runners[execution.Id] = (runner, completion);
        if (_stopping)
        {
            runner.Shutdown();
        }

        started.SetResult();
    }

    /// <summary>
    /// Cancels a live execution and waits (bounded) until it has ended, so that the answer shows <c>cancelled</c>.
    /// Returns the execution as stored afterwards.
    /// </summary>
    public async Task<ExecutionRecord> CancelAsync(ExecutionRecord execution, CancellationToken cancellationToken)
    {
        if (_runners.TryGetValue(execution.Id, out var running))
        {
            running.Runner.Cancel();
            try
            {
                await running.Completion.WaitAsync(CancelWait, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Still ending (a runtime that is slow to kill): the answer shows it as it is; it ends as cancelled.
            }
        }
        else if (execution.IsLive)
        {
            if (await store.GetMachineAsync(execution.MachineId, cancellationToken).ConfigureAwait(false) is { } machine && !local.Owns(machine.NodeId))
            {
                return await CancelElsewhereAsync(execution, machine.NodeId!, cancellationToken).ConfigureAwait(false);
            }

            if (execution.IsUnclaimed)
            {
                // Ours, created on another node and not claimed yet: claimed here (its sealed input deleted) to be ended.
                if (await store.ClaimExecutionAsync(execution.Id, RunnerId, cancellationToken).ConfigureAwait(false) is not { } claimed)
                {
                    // Claimed meanwhile (the owner's signal handler): driven here now, or ended.
                    var current = await store.GetExecutionAsync(execution.Id, cancellationToken).ConfigureAwait(false) ?? execution;
                    return current.IsUnclaimed ? current : await CancelAsync(current, cancellationToken).ConfigureAwait(false);
                }

                execution = claimed.Execution;
            }

            // Not driven by this process (a previous one's, not yet ended by the start-up sweep).
            await EndOrphanAsync(execution, ExecutionStatuses.Cancelled, ExecutionErrorCodes.Cancelled, "cancelled (DELETE)", cancellationToken).ConfigureAwait(false);
        }

        return await store.GetExecutionAsync(execution.Id, cancellationToken).ConfigureAwait(false) ?? execution;
    }

    /// <summary>
    /// Claims what was missed (see <see cref="CatchUpAsync"/>), then deletes expired executions in batches (at most 20
    /// per sweep); returns how many went.
    /// </summary>
    public async Task<int> PruneAsync(CancellationToken cancellationToken)
    {
        await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        const int Batch = 1000;
        var total = 0;
        for (var i = 0; i < 20; i++)
        {
            var deleted = await store.DeleteExpiredExecutionsAsync(timeProvider.GetUtcNow(), Batch, cancellationToken).ConfigureAwait(false);
            total += deleted;
            if (deleted < Batch)
            {
                break;
            }
        }

        return total;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var orphan in await store.ListOrphanedExecutionsAsync(RunnerId, cancellationToken).ConfigureAwait(false))
        {
            // Another node's executions are its own to drive (or to end when it restarts).
            if (await store.GetMachineAsync(orphan.MachineId, cancellationToken).ConfigureAwait(false) is { } machine && !local.Owns(machine.NodeId))
            {
                continue;
            }

            await EndOrphanAsync(orphan, ExecutionStatuses.Failed, ExecutionErrorCodes.ServerRestarted,
                "the server restarted while the execution " + (orphan.Status == ExecutionStatuses.Running ? "ran; its processes were ended" : "waited to start"),
                cancellationToken).ConfigureAwait(false);
        }

        await CatchUpAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        foreach (var (runner, _) in _runners.Values)
        {
            runner.Shutdown();
        }

        try
        {
            await Task.WhenAll(_runners.Values.Select(r => r.Completion)).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout: the next start ends what is left.
        }
    }

    private async Task EndOrphanAsync(ExecutionRecord execution, string status, string errorCode, string message, CancellationToken cancellationToken)
    {
        if (execution.Status == ExecutionStatuses.Running)
        {
            try
            {
                await runtime.EndExecutionAsync(execution.MachineId, ExecutionIds.RuntimeName(execution.Id), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is MachineRuntimeException or IOException or UnauthorizedAccessException)
            {
                ServerLog.ExecutionFailed(logger, e, execution.Id, execution.MachineId);
            }
        }

        var now = timeProvider.GetUtcNow();
        var ended = execution with
        {
            Status = status,
            CompletedAt = now,
            ExpiresAt = now + options.ExecutionRetention,
            ErrorCode = errorCode,
            ErrorMessage = message,
            CaptureCode = execution.Status == ExecutionStatuses.Running ? ExecutionCaptureCodes.ServerRestarted : null,
        };
        var final = new ExecutionEventRecord { Type = ExecutionEventTypes.Lifecycle, At = now, Status = status, ErrorCode = errorCode, ErrorMessage = message };
        if (await store.UpdateExecutionAsync(ended, [final], options.ExecutionsKeptPerMachine, cancellationToken).ConfigureAwait(false) is not null)
        {
            ServerLog.ExecutionEnded(logger, execution.Id, execution.MachineId, status, null, null, errorCode);
            Changed(execution.Id);
        }
    }
}
