using Dedalus.Contracts;
using Dedalus.Server.Hosting;
using Dedalus.Server.Errors;
using Dedalus.Server.Machines;
using Dedalus.Server.Quotas;
using Dedalus.Server.Reconciliation;
using Dedalus.Server.Ssh;
using Dedalus.Server.Store;

namespace Dedalus.Server.Sessions;

/// <summary>
/// The SSH session operations of a caller's machine: create (validate the key, open the session, wake the machine
/// if needed), list, get and close. Status changes belong to <see cref="SessionLifecycle"/>; reads never write.
/// </summary>
public sealed class SshSessionService(
    IStore store,
    MachineService machines,
    SessionLifecycle lifecycle,
    QuotaService quotas,
    MachineChangeFeed machineFeed,
    HostIdentityRotation hostIdentities,
    Cluster.LocalNode local,
    Cluster.NodeDirectory nodes,
    ServerOptions options,
    TimeProvider timeProvider,
    Telemetry.SessionMetrics metrics)
{
    /// <summary>Creates a session (<see cref="CreateCoreAsync"/>), counting it and timing the answer by outcome.</summary>
    public async Task<(SessionRecord Session, MachineRecord Machine)> CreateAsync(string orgId, string rawMachineId, CreateSshSessionRequest request, CancellationToken cancellationToken = default)
    {
        var started = Telemetry.SessionMetrics.Start();
        try
        {
            var created = await CreateCoreAsync(orgId, rawMachineId, request, cancellationToken).ConfigureAwait(false);
            metrics.Created(started, created.Session.Status);
            return created;
        }
        catch (DomainException ex)
        {
            metrics.Refused(started, ex.Kind);
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            metrics.Failed(started);
            throw;
        }
    }

    private async Task<(SessionRecord Session, MachineRecord Machine)> CreateCoreAsync(string orgId, string rawMachineId, CreateSshSessionRequest request, CancellationToken cancellationToken)
    {
        var machine = await machines.GetAsync(orgId, rawMachineId, cancellationToken).ConfigureAwait(false);
        if (!SshAuthority.TryParseClientKey(request.PublicKey, out var key, out var keyError))
        {
            throw DomainException.InvalidRequest(keyError, "public_key");
        }

        // Its node is down: a certificate would name a gateway nobody answers on. Nothing is stored.
        if (nodes.LostOwner(machine.NodeId) is { } lost)
        {
            throw DomainException.Unavailable(
                $"machine {MachineIds.Wire(machine.Id)} is on node {lost.Name}, which has sent no heartbeat since {lost.HeartbeatAt:O}; retry once the node is back");
        }

        var admission = await quotas.SessionAdmissionAsync(store, orgId, cancellationToken).ConfigureAwait(false);
        var session = await lifecycle.OpenAsync(machine, key, admission, cancellationToken).ConfigureAwait(false);
        if (session.Status == SshSessionStatuses.WakeInProgress)
        {
            // The session is stored: the wake must happen even if the caller hangs up now.
            machine = await machines.RequestWakeAsync(machine, CancellationToken.None).ConfigureAwait(false);
            (session, machine) = await HoldForWakeAsync(session, machine, cancellationToken).ConfigureAwait(false);
        }

        await WaitForCurrentHostIdentityAsync(session, machine, cancellationToken).ConfigureAwait(false);
        return (session, machine);
    }

    /// <summary>
    /// A ready session's <c>host_trust</c> is its machine's host CA under the current master: after a host CA rotation
    /// its answer waits (briefly: an install takes milliseconds) until the running machine presents a certificate from
    /// that CA, so that a client following the answer passes the host check.
    /// </summary>
    private async Task WaitForCurrentHostIdentityAsync(SessionRecord session, MachineRecord machine, CancellationToken cancellationToken)
    {
        // Host identities are installed by the machine's node, and only it knows which are current.
        if (session.Status != SshSessionStatuses.Ready || machine.Phase != MachinePhases.Running || !local.Owns(machine.NodeId))
        {
            return;
        }

        try
        {
            await hostIdentities.WaitCurrentAsync(machine.Id, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller hung up: the install it asked for goes on.
        }
    }

    /// <summary>
    /// Holds a new <c>wake_in_progress</c> session's answer while its machine wakes, up to
    /// <see cref="ServerOptions.SessionWakeHold"/>: a wake takes tens of milliseconds here, so the first answer is
    /// <c>ready</c> and a client that polls (every <c>retry_after_ms</c>) does not wait ten times longer than the wake.
    /// A slower wake (the first start of a host, say) answers <c>wake_in_progress</c> when the hold ends.
    /// </summary>
    private async Task<(SessionRecord Session, MachineRecord Machine)> HoldForWakeAsync(SessionRecord session, MachineRecord machine, CancellationToken cancellationToken)
    {
        // The hold waits for real work (a runtime start), so it runs on the wall clock, not on the injected one.
        var deadline = TimeProvider.System.GetUtcNow() + options.SessionWakeHold;
        while (true)
        {
            // Take the change signal before reading: a change between the read and the wait is not missed.
            var changed = machineFeed.NextChangeAsync(machine.Id, cancellationToken);
            machine = await store.GetMachineAsync(machine.Id, cancellationToken).ConfigureAwait(false) ?? machine;
            if (machine.Phase == MachinePhases.Running || machine.Phase is MachinePhases.Failed or MachinePhases.Destroying or MachinePhases.Destroyed)
            {
                // The reconciler tells the sessions right after its write; telling ours now (idempotent) saves the race.
                await lifecycle.MachineChangedAsync(machine, CancellationToken.None).ConfigureAwait(false);
            }

            session = await store.GetSessionAsync(session.Id, CancellationToken.None).ConfigureAwait(false) ?? session;
            var left = deadline - TimeProvider.System.GetUtcNow();
            if (session.Status != SshSessionStatuses.WakeInProgress || left <= TimeSpan.Zero)
            {
                return (SessionLifecycle.AsOf(session, timeProvider.GetUtcNow()), machine);
            }

            try
            {
                await changed.WaitAsync(left, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
            catch (OperationCanceledException)
            {
                // The caller hung up: the session is stored and the wake goes on.
                return (session, machine);
            }
        }
    }

    public async Task<(SessionRecord Session, MachineRecord Machine)> GetAsync(string orgId, string rawMachineId, string sessionId, CancellationToken cancellationToken = default)
    {
        var machine = await machines.GetAsync(orgId, rawMachineId, cancellationToken).ConfigureAwait(false);
        var session = SessionLifecycle.AsOf(await FindAsync(machine, sessionId, cancellationToken).ConfigureAwait(false), timeProvider.GetUtcNow());
        await WaitForCurrentHostIdentityAsync(session, machine, cancellationToken).ConfigureAwait(false);
        return (session, machine);
    }

    public async Task<(Page<SessionRecord> Page, MachineRecord Machine)> ListAsync(string orgId, string rawMachineId, long after, int limit, CancellationToken cancellationToken = default)
    {
        var machine = await machines.GetAsync(orgId, rawMachineId, cancellationToken).ConfigureAwait(false);
        var page = await store.ListSessionsAsync(machine.Id, after, limit, cancellationToken).ConfigureAwait(false);
        var now = timeProvider.GetUtcNow();
        return (page with { Items = [.. page.Items.Select(s => SessionLifecycle.AsOf(s, now))] }, machine);
    }

    public async Task<(SessionRecord Session, MachineRecord Machine)> DeleteAsync(string orgId, string rawMachineId, string sessionId, CancellationToken cancellationToken = default)
    {
        var machine = await machines.GetAsync(orgId, rawMachineId, cancellationToken).ConfigureAwait(false);
        var session = await FindAsync(machine, sessionId, cancellationToken).ConfigureAwait(false);
        var closed = await lifecycle.CloseAsync(session, cancellationToken).ConfigureAwait(false);
        return (SessionLifecycle.AsOf(closed, timeProvider.GetUtcNow()), machine);
    }

    private async Task<SessionRecord> FindAsync(MachineRecord machine, string sessionId, CancellationToken cancellationToken)
    {
        if (!SessionIds.IsWellFormed(sessionId))
        {
            throw DomainException.NotFound(NotFoundResources.SshSession, $"ssh session {Truncate(sessionId)} not found");
        }

        var session = await store.GetSessionAsync(sessionId, cancellationToken).ConfigureAwait(false);
        return session is not null && session.MachineId == machine.Id && session.OrgId == machine.OrgId
            ? session
            : throw DomainException.NotFound(NotFoundResources.SshSession, $"ssh session {sessionId} not found on machine {machine.Id}");
    }

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "...";
}
