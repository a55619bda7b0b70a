using System.Collections.Concurrent;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Cluster;
using Dedalus.Server.Gateway;
using Dedalus.Server.Hosting;
using Dedalus.Server.Machines;
using Dedalus.Server.Networking;
using Dedalus.Server.Sessions;
using Dedalus.Server.Ssh;
using Dedalus.Server.Store;
using Dedalus.Server.Telemetry;

namespace Dedalus.Server.Reconciliation;

/// <summary>
/// Drives each machine to its desired state through <see cref="IMachineRuntime"/>, one worker per machine at a time
/// (kicks from the <see cref="MachineWorkQueue"/> arriving meanwhile coalesce into one more pass), recording every
/// phase with a new revision and event and telling the <see cref="SessionLifecycle"/> after each transition. It opens
/// a machine's gateway port as it first sees it (retrying a port another process holds, then moving the machine to a
/// free one: Reconciler.Ports.cs) and closes it as it destroys it. A failing runtime step is retried a few times with
/// back-off before the machine is marked failed. Before every start it installs a fresh host key and certificate, and
/// renews them while the machine runs (<see cref="HostIdentityRotation"/>). On start it publishes the SSH trust and
/// repairs every live machine (which renews every running machine's host certificate). It drives only the machines
/// placed on this node (<see cref="LocalNode"/>): a kick for another node's machine is a no-op here.
/// </summary>
public sealed partial class Reconciler(
    IStore store,
    IMachineRuntime runtime,
    MachineWriter writer,
    MachineWorkQueue queue,
    SessionLifecycle sessions,
    SshAuthority authority,
    SshTrustPublisher trust,
    IMachinePorts ports,
    GatewayPortRecovery portRecovery,
    HostIdentityRotation hostIdentities,
    MachineNetworking networking,
    ISshServerConnector sshServers,
    LocalNode local,
    ServerOptions options,
    TimeProvider timeProvider,
    StoreOutageLog outage,
    ReconcilerMetrics metrics,
    MachineMetrics machineMetrics,
    ILogger<Reconciler> logger) : BackgroundService
{
    private const int MaxStepsPerPass = 32;

    /// <summary>How long a machine whose pass found the store unreachable waits before its next pass.</summary>
    private static readonly TimeSpan StoreRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<string, WorkerSlot> _workers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _verify = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Whether start-up repair has been queued.</summary>
    public bool IsStarted => _started.Task.IsCompleted;

    /// <summary>Completes when start-up repair is queued and every kick so far has been handled (tests and benchmarks settle on it).</summary>
    public async Task WaitIdleAsync(CancellationToken cancellationToken = default)
    {
        await _started.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        await queue.WaitIdleAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await trust.PublishAsync(stoppingToken).ConfigureAwait(false);
            IReadOnlyList<MachineRecord> machines;
            while (true)
            {
                try
                {
                    machines = await store.ListLiveMachinesAsync(stoppingToken).ConfigureAwait(false);
                    break;
                }
                catch (StoreUnavailableException ex)
                {
                    // Start-up repair waits for the store rather than stopping the host.
                    outage.Report("reconciler start-up repair", ex);
                    await Task.Delay(StoreRetryDelay, TimeProvider.System, stoppingToken).ConfigureAwait(false);
                }
            }

            // This node's machines only: another node drives its own (and adopts them when it comes back).
            machines = [.. machines.Where(m => local.Owns(m.NodeId))];
            ServerLog.Repairing(logger, machines.Count);
            foreach (var machine in machines)
            {
                // After a restart the runtime may not hold what the store says (a fresh host, a crash): check once.
                _verify[machine.Id] = true;
                queue.Kick(machine.Id);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        finally
        {
            _started.TrySetResult();
        }

        try
        {
            await foreach (var machineId in queue.Kicks.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                Dispatch(machineId);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);

        // Passes end at their next await on the stopping token; give the runtime calls in flight a bounded grace.
        var workers = _workers.Values.Select(slot => slot.Worker);
        try
        {
            await Task.WhenAll(workers).WaitAsync(StopGrace, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            ServerLog.ReconcilerStopTimedOut(logger, StopGrace);
        }
    }

    public override void Dispose()
    {
        _stopping.Dispose();
        base.Dispose();
    }

    /// <summary>Starts a worker for the machine unless one runs; a running worker does one more pass for it.</summary>
    private void Dispatch(string machineId)
    {
        var slot = _workers.GetOrAdd(machineId, static _ => new WorkerSlot());
        if (Interlocked.Increment(ref slot.Requests) == 1)
        {
            slot.Worker = Task.Run(() => DrainAsync(machineId, slot));
        }
    }

    private async Task DrainAsync(string machineId, WorkerSlot slot)
    {
        int seen;
        do
        {
            seen = Volatile.Read(ref slot.Requests);
            if (!_stopping.IsCancellationRequested)
            {
                try
                {
                    metrics.Pass();
                    await ReconcileAsync(machineId, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
                {
                }
                catch (StoreUnavailableException ex)
                {
                    // Nothing about the machine is known to be wrong: pass again once the store may answer.
                    outage.Report("reconciler", ex);
                    metrics.Error(ReconcilerMetrics.StoreUnavailable);
                    _ = KickLaterAsync(machineId);
                }
                catch (Exception ex)
                {
                    ServerLog.ReconcileCrashed(logger, machineId, ex);
                    metrics.Error(ReconcilerMetrics.Crash);
                }
            }

            queue.Handled(seen);
        }
        while (Interlocked.Add(ref slot.Requests, -seen) != 0);
    }

    private async Task KickLaterAsync(string machineId)
    {
        try
        {
            await Task.Delay(StoreRetryDelay, TimeProvider.System, _stopping.Token).ConfigureAwait(false);
            queue.Kick(machineId);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        catch (ObjectDisposedException)
        {
            // Stopped.
        }
    }

    private sealed class WorkerSlot
    {
        public int Requests;
        public Task Worker = Task.CompletedTask;
    }
}
