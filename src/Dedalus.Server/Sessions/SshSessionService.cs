using Dedalus.Contracts;
using Dedalus.Server.Errors;
using Dedalus.Server.Machines;
using Dedalus.Server.Quotas;
using Dedalus.Server.Ssh;
using Dedalus.Server.Store;

namespace Dedalus.Server.Sessions;

/// <summary>
/// The SSH session operations of a caller's machine: create (validate the key, open the session, wake the machine
/// if needed), list, get and close. Status changes belong to <see cref="SessionLifecycle"/>; reads never write.
/// </summary>
public sealed class SshSessionService(IStore store, MachineService machines, SessionLifecycle lifecycle, QuotaService quotas, TimeProvider timeProvider)
{
    public async Task<(SessionRecord Session, MachineRecord Machine)> CreateAsync(string orgId, string rawMachineId, CreateSshSessionRequest request, CancellationToken cancellationToken = default)
    {
        var machine = await machines.GetAsync(orgId, rawMachineId, cancellationToken).ConfigureAwait(false);
        if (!SshAuthority.TryParseClientKey(request.PublicKey, out var key, out var keyError))
        {
            throw DomainException.InvalidRequest(keyError, "public_key");
        }

        var session = await lifecycle.OpenAsync(machine, key, quotas.AdmitSession(orgId), cancellationToken).ConfigureAwait(false);
        if (session.Status == SshSessionStatuses.WakeInProgress)
        {
            // The session is stored: the wake must happen even if the caller hangs up now.
            machine = await machines.RequestWakeAsync(machine, CancellationToken.None).ConfigureAwait(false);
        }

        return (session, machine);
    }

    public async Task<(SessionRecord Session, MachineRecord Machine)> GetAsync(string orgId, string rawMachineId, string sessionId, CancellationToken cancellationToken = default)
    {
        var machine = await machines.GetAsync(orgId, rawMachineId, cancellationToken).ConfigureAwait(false);
        var session = await FindAsync(machine, sessionId, cancellationToken).ConfigureAwait(false);
        return (SessionLifecycle.AsOf(session, timeProvider.GetUtcNow()), machine);
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
