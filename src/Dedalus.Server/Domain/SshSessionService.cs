using Dedalus.Contracts;
using Dedalus.Server.Api;
using Dedalus.Server.Hosting;
using Dedalus.Server.Logging;
using Dedalus.Server.Ssh;
using Dedalus.Server.Store;

namespace Dedalus.Server.Domain;

/// <summary>
/// SSH sessions (DESIGN.md section 4): validate the key, wake the machine if needed, sign the certificate,
/// report <c>ready</c> once the machine runs; close (KRL + cut connections) and expire.
/// </summary>
public sealed class SshSessionService(
    IStore store,
    MachineService machines,
    SshAuthority authority,
    SshTrustPublisher trust,
    ISessionConnectionCloser connections,
    ServerOptions options,
    TimeProvider timeProvider,
    ILogger<SshSessionService> logger)
{
    public const long WakeRetryAfterMs = 500;
    public const string MachineFailedCode = ErrorCodes.MachineFailed;
    public const string MachineDestroyedCode = ErrorCodes.MachineDestroyed;

    public async Task<(SessionRecord Session, MachineRecord Machine)> CreateAsync(string orgId, string rawMachineId, CreateSshSessionRequest request, CancellationToken cancellationToken = default)
    {
        var machine = await machines.GetAsync(orgId, rawMachineId, cancellationToken).ConfigureAwait(false);
        if (!SshAuthority.TryParseClientKey(request.PublicKey, out var key, out var keyError))
        {
            throw ApiErrors.InvalidRequest(keyError, "public_key");
        }

        var now = timeProvider.GetUtcNow();
        var sessionId = SessionIds.New();
        var serial = SessionIds.NewSerial();
        var expiresAt = now + options.SessionTtl;
        var session = new SessionRecord
        {
            Id = sessionId,
            OrgId = orgId,
            MachineId = machine.Id,
            Status = SshSessionStatuses.WakeInProgress,
            PublicKey = key.ToOpenSshString(),
            Serial = serial,
            CreatedAt = now,
            ExpiresAt = expiresAt,
        };

        if (machine.DesiredState == DesiredStates.Destroyed || machine.Phase is MachinePhases.Destroying or MachinePhases.Destroyed)
        {
            session = session with { Status = SshSessionStatuses.Failed, ErrorCode = MachineDestroyedCode, ErrorMessage = $"machine {machine.Id} is destroyed" };
        }
        else if (machine.Phase == MachinePhases.Failed)
        {
            session = session with
            {
                Status = SshSessionStatuses.Failed,
                ErrorCode = MachineFailedCode,
                ErrorMessage = $"machine {machine.Id} failed: {machine.LastError ?? "unknown error"}",
            };
        }
        else
        {
            var certificate = authority.IssueUserCertificate(key, sessionId, serial, machine.Id, now - options.CertificateBackdate, expiresAt);
            var runs = machine.Phase == MachinePhases.Running && machine.DesiredState == DesiredStates.Running;
            session = session with
            {
                Certificate = certificate,
                Status = runs ? SshSessionStatuses.Ready : SshSessionStatuses.WakeInProgress,
                ReadyAt = runs ? now : null,
            };
        }

        await store.InsertSessionAsync(session, cancellationToken).ConfigureAwait(false);
        if (session.Status == SshSessionStatuses.WakeInProgress)
        {
            // The session is stored: the wake must happen even if the caller hangs up now.
            machine = await machines.RequestWakeAsync(machine, CancellationToken.None).ConfigureAwait(false);
        }

        ServerLog.SessionCreated(logger, sessionId, machine.Id, session.Status, serial);
        return (session, machine);
    }

    public async Task<(SessionRecord Session, MachineRecord Machine)> GetAsync(string orgId, string rawMachineId, string sessionId, CancellationToken cancellationToken = default)
    {
        var machine = await machines.GetAsync(orgId, rawMachineId, cancellationToken).ConfigureAwait(false);
        var session = await FindAsync(machine, sessionId, cancellationToken).ConfigureAwait(false);
        return (await RefreshAsync(session, machine, cancellationToken).ConfigureAwait(false), machine);
    }

    public async Task<(Page<SessionRecord> Page, MachineRecord Machine)> ListAsync(string orgId, string rawMachineId, long after, int limit, CancellationToken cancellationToken = default)
    {
        var machine = await machines.GetAsync(orgId, rawMachineId, cancellationToken).ConfigureAwait(false);
        var page = await store.ListSessionsAsync(machine.Id, after, limit, cancellationToken).ConfigureAwait(false);
        var items = new List<SessionRecord>(page.Items.Count);
        foreach (var session in page.Items)
        {
            items.Add(await RefreshAsync(session, machine, cancellationToken).ConfigureAwait(false));
        }

        return (page with { Items = items }, machine);
    }

    public async Task<(SessionRecord Session, MachineRecord Machine)> DeleteAsync(string orgId, string rawMachineId, string sessionId, CancellationToken cancellationToken = default)
    {
        var machine = await machines.GetAsync(orgId, rawMachineId, cancellationToken).ConfigureAwait(false);
        var session = await FindAsync(machine, sessionId, cancellationToken).ConfigureAwait(false);
        var now = timeProvider.GetUtcNow();
        if (await store.CloseSessionAsync(session.Id, now, cancellationToken).ConfigureAwait(false))
        {
            // Revoke first (new logins refused), then cut what is connected. The close is committed: a caller
            // hanging up now must not leave the revocation unpublished or the connections open.
            await trust.PublishAsync(CancellationToken.None).ConfigureAwait(false);
            var cut = await connections.CloseSessionConnectionsAsync(session.Id, CancellationToken.None).ConfigureAwait(false);
            ServerLog.SessionClosed(logger, session.Id, machine.Id, session.Serial, cut);
        }

        var closed = await store.GetSessionAsync(session.Id, cancellationToken).ConfigureAwait(false) ?? session;
        return (await RefreshAsync(closed, machine, cancellationToken).ConfigureAwait(false), machine);
    }

    /// <summary>Persists expiry of lapsed sessions; run by the sweeper.</summary>
    public Task<int> ExpireAsync(CancellationToken cancellationToken = default) =>
        store.ExpireSessionsAsync(timeProvider.GetUtcNow(), cancellationToken);

    public SshSession ToContract(SessionRecord s, MachineRecord machine)
    {
        var ready = s.Status == SshSessionStatuses.Ready;
        return new SshSession(
            s.Id,
            s.MachineId,
            s.Status,
            s.CreatedAt,
            ready
                ? new SshConnection(
                    options.GatewayHosts[0],
                    machine.GatewayPort,
                    options.SshUsername,
                    s.Certificate,
                    new SshHostTrust("cert_authority", options.EffectiveHostPattern, authority.HostCaPublicKey))
                : null,
            s.ReadyAt,
            s.ExpiresAt,
            s.Status == SshSessionStatuses.WakeInProgress ? WakeRetryAfterMs : null,
            s.ErrorCode,
            s.ErrorMessage);
    }

    private async Task<SessionRecord> FindAsync(MachineRecord machine, string sessionId, CancellationToken cancellationToken)
    {
        if (!SessionIds.IsWellFormed(sessionId))
        {
            throw ApiErrors.NotFound($"ssh session {Truncate(sessionId)} not found", NotFoundResources.SshSession);
        }

        var session = await store.GetSessionAsync(sessionId, cancellationToken).ConfigureAwait(false);
        return session is not null && session.MachineId == machine.Id && session.OrgId == machine.OrgId
            ? session
            : throw ApiErrors.NotFound($"ssh session {sessionId} not found on machine {machine.Id}", NotFoundResources.SshSession);
    }

    /// <summary>Applies what time and the machine say about an open session (expiry, readiness, failure), persisting it.</summary>
    private async Task<SessionRecord> RefreshAsync(SessionRecord session, MachineRecord machine, CancellationToken cancellationToken)
    {
        if (session.Status is not (SshSessionStatuses.Ready or SshSessionStatuses.WakeInProgress))
        {
            return session;
        }

        var now = timeProvider.GetUtcNow();
        if (now >= session.ExpiresAt)
        {
            await store.ExpireSessionsAsync(now, cancellationToken).ConfigureAwait(false);
            return session with { Status = SshSessionStatuses.Expired };
        }

        if (machine.DesiredState == DesiredStates.Destroyed)
        {
            // The reconciler ends them as it destroys the machine; whoever reads first does it.
            if (await store.EndMachineSessionsAsync(machine.Id, now, MachineDestroyedCode, $"machine {machine.Id} is destroyed", cancellationToken).ConfigureAwait(false) > 0)
            {
                await trust.PublishAsync(CancellationToken.None).ConfigureAwait(false);
            }

            return await store.GetSessionAsync(session.Id, cancellationToken).ConfigureAwait(false) ?? session;
        }

        if (session.Status == SshSessionStatuses.WakeInProgress)
        {
            if (machine.Phase == MachinePhases.Running && machine.DesiredState == DesiredStates.Running)
            {
                await store.MarkSessionsReadyAsync(machine.Id, now, cancellationToken).ConfigureAwait(false);
                return await store.GetSessionAsync(session.Id, cancellationToken).ConfigureAwait(false) ?? session;
            }

            if (machine.Phase == MachinePhases.Failed)
            {
                var message = $"machine {machine.Id} failed: {machine.LastError ?? "unknown error"}";
                await store.FailWaitingSessionsAsync(machine.Id, MachineFailedCode, message, cancellationToken).ConfigureAwait(false);
                return session with { Status = SshSessionStatuses.Failed, ErrorCode = MachineFailedCode, ErrorMessage = message };
            }
        }

        return session;
    }

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "...";
}
