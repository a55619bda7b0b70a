using System.Collections.Concurrent;
using Dedalus.Machines.Runtime;
using Dedalus.Server.Domain;
using Dedalus.Server.Hosting;
using Dedalus.Server.Logging;
using Dedalus.Server.Ssh;
using Dedalus.Server.Store;

namespace Dedalus.Server.Reconciliation;

/// <summary>
/// Drives each machine to its desired state through <see cref="IMachineRuntime"/>, one worker per machine
/// at a time (requests arriving meanwhile coalesce into one more pass), recording every phase with a new
/// revision and event. A failing runtime step is retried a few times with back-off before the machine is
/// marked failed. On start it publishes the SSH trust and repairs every live machine.
/// </summary>
public sealed partial class Reconciler(
    IStore store,
    IMachineRuntime runtime,
    MachineWriter writer,
    SshAuthority authority,
    SshTrustPublisher trust,
    IMachinePorts ports,
    ServerOptions options,
    TimeProvider timeProvider,
    ILogger<Reconciler> logger) : BackgroundService, IMachineWorkQueue
{
    private const int MaxStepsPerPass = 32;
    private readonly ConcurrentDictionary<string, WorkerSlot> _workers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _verify = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running;

    public void Kick(string machineId)
    {
        var slot = _workers.GetOrAdd(machineId, static _ => new WorkerSlot());
        if (Interlocked.Increment(ref slot.Requests) == 1)
        {
            Interlocked.Increment(ref _running);
            _ = Task.Run(() => DrainAsync(machineId, slot));
        }
    }

    /// <summary>Whether start-up repair has been queued.</summary>
    public bool IsStarted => _started.Task.IsCompleted;

    /// <summary>Completes when no machine is being reconciled (tests and benchmarks use it to settle).</summary>
    public async Task WaitIdleAsync(CancellationToken cancellationToken = default)
    {
        await _started.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        while (Volatile.Read(ref _running) > 0)
        {
            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await trust.PublishAsync(stoppingToken).ConfigureAwait(false);
            var machines = await store.ListLiveMachinesAsync(stoppingToken).ConfigureAwait(false);
            ServerLog.Repairing(logger, machines.Count);
            foreach (var machine in machines)
            {
                // After a restart the runtime may not hold what the store says (a fresh host, a crash): check once.
                _verify[machine.Id] = true;
                Kick(machine.Id);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _started.TrySetResult();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        var deadline = timeProvider.GetUtcNow() + TimeSpan.FromSeconds(10);
        while (Volatile.Read(ref _running) > 0 && timeProvider.GetUtcNow() < deadline && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
        }
    }

    public override void Dispose()
    {
        _stopping.Dispose();
        base.Dispose();
    }

    private async Task DrainAsync(string machineId, WorkerSlot slot)
    {
        try
        {
            int seen;
            do
            {
                seen = Volatile.Read(ref slot.Requests);
                if (!_stopping.IsCancellationRequested)
                {
                    try
                    {
                        await ReconcileAsync(machineId, _stopping.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
                    {
                    }
                    catch (Exception ex)
                    {
                        ServerLog.ReconcileCrashed(logger, machineId, ex);
                    }
                }
            }
            while (Interlocked.Add(ref slot.Requests, -seen) != 0);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }

    private sealed class WorkerSlot
    {
        public int Requests;
    }
}
