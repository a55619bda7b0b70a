using Dedalus.Contracts;
using Dedalus.Server.Gateway;
using Dedalus.Server.Hosting;
using Dedalus.Server.Machines;
using Dedalus.Server.Sessions;
using Dedalus.Server.Ssh;
using Dedalus.Server.Store;

namespace Dedalus.Server.Reconciliation;

/// <summary>
/// Periodic work on the injected clock: expires lapsed SSH sessions and puts idle machines to sleep after
/// <c>autosleep_seconds</c> without activity (session creation, API wake, open gateway connections), and
/// requeues machines left short of their desired state or without their gateway port, and running machines whose host
/// certificate is due for renewal (or came from a master host key a rotation replaced); follows CA rotations (the user
/// CAs machines trust, the sessions of a CA they no longer trust); prunes what is kept for a while (replays, events,
/// lapsed revocations) and bounds the gateway's connection audit. It refreshes the machines-by-phase gauge as it goes.
/// </summary>
public sealed class MaintenanceService(
    IStore store,
    MachineWriter writer,
    MachineWorkQueue workQueue,
    SessionLifecycle sessions,
    MachineActivity activity,
    IOpenConnections connections,
    HostIdentityRotation hostIdentities,
    SshTrustPublisher trust,
    Executions.ExecutionSupervisor executions,
    ServerOptions options,
    StoreOutageLog outage,
    TimeProvider timeProvider,
    Cluster.LocalNode local,
    Telemetry.MachineMetrics machineMetrics,
    ILogger<MaintenanceService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.SweepInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await RunOnceAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (StoreUnavailableException ex)
                {
                    outage.Report("maintenance sweep", ex);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    ServerLog.MaintenanceFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public async Task RunOnceAsync(CancellationToken cancellationToken = default)
    {
        await sessions.ExpireLapsedAsync(cancellationToken).ConfigureAwait(false);

        // CA rotations: a retired user CA whose overlap ended leaves the machines' trust and its live sessions close; a
        // new master host key makes every running machine due for a new host identity (requeued below).
        await trust.PublishIfChangedAsync(cancellationToken).ConfigureAwait(false);
        await sessions.CloseUntrustedAsync(cancellationToken).ConfigureAwait(false);
        await AutosleepAsync(cancellationToken).ConfigureAwait(false);
        await RequeueUnconvergedAsync(cancellationToken).ConfigureAwait(false);
        var now = timeProvider.GetUtcNow();
        await store.PruneAsync(now - Retention, now, cancellationToken).ConfigureAwait(false);
        await TrimConnectionAuditAsync(cancellationToken).ConfigureAwait(false);
        if (await executions.PruneAsync(cancellationToken).ConfigureAwait(false) is > 0 and var pruned)
        {
            ServerLog.ExecutionsPruned(logger, pruned);
        }
    }

    /// <summary>How long idempotency records (replays) and machine events (SSE resume) are kept.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    /// <summary>Most audit rows one trim deletes: what it deletes, it deletes holding the store's write lock.</summary>
    public const int ConnectionAuditBatch = 1000;

    /// <summary>
    /// Most trims per sweep: with the default 5 s sweep, 4000 rows a second, more than the gateway records; a larger
    /// backlog (a lowered cap or retention) goes over the next sweeps rather than holding up this one.
    /// </summary>
    public const int ConnectionAuditBatchesPerSweep = 20;

    /// <summary>
    /// Bounds the gateway's connection audit: deletes the oldest rows of every machine over
    /// <see cref="ServerOptions.ConnectionAuditPerMachine"/> and the rows that ended before
    /// <see cref="ServerOptions.ConnectionAuditRetention"/>, in batches that each take the write lock briefly. Returns how
    /// many rows went.
    /// </summary>
    public async Task<int> TrimConnectionAuditAsync(CancellationToken cancellationToken = default)
    {
        var endedBefore = timeProvider.GetUtcNow() - options.ConnectionAuditRetention;
        int overCap = 0, expired = 0;
        for (var i = 0; i < ConnectionAuditBatchesPerSweep; i++)
        {
            var trim = await store.TrimConnectionsAsync(endedBefore, options.ConnectionAuditPerMachine, ConnectionAuditBatch, cancellationToken).ConfigureAwait(false);
            overCap += trim.OverCap;
            expired += trim.Expired;
            if (trim.Total < ConnectionAuditBatch)
            {
                break;
            }

            if (i == ConnectionAuditBatchesPerSweep - 1)
            {
                ServerLog.ConnectionAuditBacklog(logger, overCap + expired);
            }
        }

        if (overCap + expired > 0)
        {
            ServerLog.ConnectionAuditTrimmed(logger, overCap, options.ConnectionAuditPerMachine, expired, options.ConnectionAuditRetention);
        }

        return overCap + expired;
    }

    /// <summary>
    /// Queues a pass for every machine not at its desired state (and not failed), or whose gateway port is not ours: a
    /// pass that crashed on a store error, or a kick lost between a committed write and its caller, must not leave a
    /// machine stuck until a restart, and a held port that was let go is taken at the next sweep even while its back-off
    /// runs (such a pass tries the port but counts no failure). Passes coalesce, so a machine already being reconciled
    /// only gets one more look. A running machine whose host certificate is past half-life gets a pass too: the
    /// reconciler renews it there.
    /// </summary>
    public async Task<int> RequeueUnconvergedAsync(CancellationToken cancellationToken = default)
    {
        var queued = 0;
        var machines = (await store.ListLiveMachinesAsync(cancellationToken).ConfigureAwait(false)).Where(m => local.Owns(m.NodeId)).ToList();

        // The list the sweep reads anyway is what the machines-by-phase gauge reports: a scrape reads no store.
        machineMetrics.UpdatePhases(machines);
        foreach (var machine in machines)
        {
            if (((!machine.IsConverged || machine.ResourcesDirty) && machine.Phase != MachinePhases.Failed) || machine.IsGatewayPortUnavailable
                || (machine.Phase == MachinePhases.Running && hostIdentities.IsRenewalDue(machine.Id)))
            {
                workQueue.Kick(machine.Id);
                queued++;
            }
        }

        return queued;
    }

    /// <summary>Asks every idle running machine to sleep; returns how many.</summary>
    public async Task<int> AutosleepAsync(CancellationToken cancellationToken = default)
    {
        var slept = 0;
        foreach (var machine in (await store.ListLiveMachinesAsync(cancellationToken).ConfigureAwait(false)).Where(m => local.Owns(m.NodeId)))
        {
            if (machine.DesiredState != DesiredStates.Running || machine.Phase != MachinePhases.Running || machine.AutosleepSeconds <= 0
                || connections.Count(machine.Id) > 0)
            {
                continue;
            }

            var now = timeProvider.GetUtcNow();
            var lastActivity = machine.LastActivityAt;
            if (activity.LastReported(machine.Id) is { } reported && reported > lastActivity)
            {
                lastActivity = reported;
            }

            if (now - lastActivity < TimeSpan.FromSeconds(machine.AutosleepSeconds))
            {
                continue;
            }

            var next = machine with { DesiredState = DesiredStates.Sleeping, Reason = "autosleep", LastProgressAt = now };
            if (await writer.TryWriteAsync(machine, next, cancellationToken).ConfigureAwait(false))
            {
                ServerLog.Autosleep(logger, machine.Id, (long)(now - lastActivity).TotalSeconds);
                workQueue.Kick(machine.Id);
                slept++;
            }
        }

        return slept;
    }
}
