using System.Collections.Concurrent;
using Dedalus.Contracts;
using Dedalus.Server.Cluster;
using Dedalus.Server.Store;

namespace Dedalus.Server.Executions;

/// <summary>
/// Executions across nodes. Only the node that owns a machine drives its runtime, so an execution created on another
/// node is stored unclaimed with its input sealed; this node claims it (one atomic write that also deletes the sealed
/// input), opens the input and runs it as <see cref="Start"/> does, when the creating node's signal arrives, and at
/// start-up, resync and every sweep for the signals that were lost. A cancel asked on another node is a flag in the
/// row and a signal; the changes of the executions run here are signalled to the other nodes, whose followers (events
/// with a wait, the log stream) read the store again.
/// </summary>
public sealed partial class ExecutionSupervisor
{
    /// <summary>
    /// Changes within this window go out as one signal: output is flushed every 25 ms, and a node does not need a
    /// NOTIFY for each flush. Wall time on purpose: this only paces messages, no domain decision rests on it.
    /// </summary>
    private static readonly TimeSpan SignalCoalescing = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// An execution nobody claimed for this long (its machine's node is lost, or never came back) is ended as failed
    /// by whichever node sweeps first; its sealed input goes with the claim. Well above the sweep interval, at which
    /// the owner claims any it missed.
    /// </summary>
    public static readonly TimeSpan UnclaimedLimit = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<string, byte> _signalling = new(StringComparer.Ordinal);

    /// <summary>
    /// An execution driven here changed: its local waiters wake now, and the other nodes' after at most
    /// <see cref="SignalCoalescing"/> (one signal for the changes within it).
    /// </summary>
    internal void Changed(string executionId)
    {
        feed.Publish(executionId);
        if (bus is LocalClusterBus || !_signalling.TryAdd(executionId, 0))
        {
            return;
        }

        _ = SignalSoonAsync(executionId);
    }

    /// <summary>
    /// An <see cref="ClusterSignalKind.Execution"/> signal for one of this node's machines: an unclaimed execution is
    /// claimed and started; one driven here whose cancel another node recorded is cancelled.
    /// </summary>
    public async Task OnSignalAsync(string executionId, CancellationToken cancellationToken)
    {
        var execution = await store.GetExecutionAsync(executionId, cancellationToken).ConfigureAwait(false);
        if (execution is not { IsLive: true })
        {
            return;
        }

        if (execution.IsUnclaimed)
        {
            await ClaimAsync(execution, cancellationToken).ConfigureAwait(false);
        }
        else if (execution.CancelRequested && _runners.TryGetValue(execution.Id, out var running))
        {
            running.Runner.Cancel();
        }
    }

    /// <summary>
    /// What signals may have missed: claims the unclaimed executions of this node's machines (and ends those of other
    /// nodes left unclaimed past <see cref="UnclaimedLimit"/>), and cancels the runners here whose cancel was recorded.
    /// </summary>
    public async Task CatchUpAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        foreach (var execution in await store.ListUnclaimedExecutionsAsync(cancellationToken).ConfigureAwait(false))
        {
            var machine = await store.GetMachineAsync(execution.MachineId, cancellationToken).ConfigureAwait(false);
            if (machine is null || local.Owns(machine.NodeId))
            {
                // A machine gone: claimed here all the same, and its runner ends it (machine_destroyed).
                await ClaimAsync(execution, cancellationToken).ConfigureAwait(false);
            }
            else if (now - execution.CreatedAt >= UnclaimedLimit
                && await store.ClaimExecutionAsync(execution.Id, RunnerId, cancellationToken).ConfigureAwait(false) is { } claimed)
            {
                await EndOrphanAsync(claimed.Execution, ExecutionStatuses.Failed, ExecutionErrorCodes.MachineFailed,
                    $"node {machine.NodeId}, which runs machine {machine.Id}, did not take the execution within {UnclaimedLimit.TotalMinutes:0} minutes",
                    cancellationToken).ConfigureAwait(false);
            }
        }

        if (bus is LocalClusterBus)
        {
            // One node: every cancel is asked here, of the runner itself.
            return;
        }

        foreach (var (executionId, running) in _runners)
        {
            if (await store.GetExecutionAsync(executionId, cancellationToken).ConfigureAwait(false) is { CancelRequested: true })
            {
                running.Runner.Cancel();
            }
        }
    }

    /// <summary>Claims an unclaimed execution of this node's machine and runs it; nothing when another claim won.</summary>
    private async Task ClaimAsync(ExecutionRecord execution, CancellationToken cancellationToken)
    {
        if (await store.ClaimExecutionAsync(execution.Id, RunnerId, cancellationToken).ConfigureAwait(false) is not { } claimed)
        {
            return;
        }

        execution = claimed.Execution;
        if ((claimed.SealedInput is { } sealedInput ? seal.Open(execution, sealedInput) : null) is not { } input)
        {
            ServerLog.ExecutionInputUnopenable(logger, execution.Id, execution.MachineId);
            await EndOrphanAsync(execution, ExecutionStatuses.Failed, ExecutionErrorCodes.StartFailed,
                "the execution's input, sealed by the node that received the request, does not open on the node that runs the machine: the nodes do not share one server secret (--ca-dir)",
                cancellationToken).ConfigureAwait(false);
            return;
        }

        ServerLog.ExecutionClaimed(logger, execution.Id, execution.MachineId);
        Start(execution, input);
        if (execution.CancelRequested && _runners.TryGetValue(execution.Id, out var running))
        {
            running.Runner.Cancel();
        }
    }

    /// <summary>
    /// Cancels an execution of another node's machine: records the request, tells that node, and waits (bounded, like a
    /// local cancel) until the execution has ended. Returns it as stored then.
    /// </summary>
    private async Task<ExecutionRecord> CancelElsewhereAsync(ExecutionRecord execution, string nodeId, CancellationToken cancellationToken)
    {
        var deadline = timeProvider.GetUtcNow() + CancelWait;
        var change = feed.NextChangeAsync(execution.Id, CancellationToken.None);
        var current = await store.RequestExecutionCancelAsync(execution.Id, cancellationToken).ConfigureAwait(false);
        ServerLog.ExecutionCancelForwarded(logger, execution.Id, execution.MachineId, nodeId);
        bus.Send(new ClusterSignal(ClusterSignalKind.Execution, execution.Id, nodeId));
        while (current is { IsLive: true })
        {
            var left = deadline - timeProvider.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                // The owner is slow to end it (or away): the answer shows it as it is; the owner ends it as cancelled.
                break;
            }

            try
            {
                // The owner's signals wake this; the store is read again every second should one be lost.
                await change.WaitAsync(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1), timeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }

            change = feed.NextChangeAsync(execution.Id, CancellationToken.None);
            current = await store.GetExecutionAsync(execution.Id, cancellationToken).ConfigureAwait(false);
        }

        return current ?? execution;
    }

    private async Task SignalSoonAsync(string executionId)
    {
        try
        {
            await Task.Delay(SignalCoalescing).ConfigureAwait(false);
        }
        finally
        {
            // Removed before sending: a change after this point schedules the next signal.
            _signalling.TryRemove(executionId, out _);
            bus.Send(new ClusterSignal(ClusterSignalKind.Execution, executionId, local.Id));
        }
    }
}
