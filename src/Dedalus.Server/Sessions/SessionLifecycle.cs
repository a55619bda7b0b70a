using Dedalus.Contracts;
using Dedalus.OpenSsh;
using Dedalus.Server.Gateway;
using Dedalus.Server.Hosting;
using Dedalus.Server.Ssh;
using Dedalus.Server.Store;

namespace Dedalus.Server.Sessions;

/// <summary>
/// The one owner of SSH session status (DESIGN.md section 4). A session opens <c>ready</c> on a running machine whose
/// gateway port is ours, <c>ssh_in_progress</c> on a running machine whose port another process holds (the reconciler
/// retries it, then moves the machine), and <c>wake_in_progress</c> on any other live one; then the machine decides:
/// running with its port makes waiting sessions ready, failed fails them, destroyed ends them all and revokes their
/// certificates. Close revokes one session and cuts its connections; expiry is a sweep, and so is the close of the
/// sessions whose user CA machines no longer trust (a rotation's overlap ended). Nothing else writes a session's status,
/// and reading never writes.
/// </summary>
public sealed class SessionLifecycle(
    IStore store,
    SshTrustPublisher trust,
    ISessionConnections connections,
    Cluster.IClusterBus bus,
    ServerOptions options,
    TimeProvider timeProvider,
    ILogger<SessionLifecycle> logger)
{
    /// <summary>The trusted user CAs <see cref="CloseUntrustedAsync"/> last checked the live sessions against.</summary>
    private IReadOnlyList<SshPublicKey>? _checkedTrust;

    /// <summary>
    /// Stores a new session for <paramref name="key"/> on <paramref name="machine"/>, with its certificate unless the
    /// machine is failed or destroyed (then the session is stored <c>failed</c>). A waiting session turns ready when the
    /// reconciler reports the machine running with its gateway port (<see cref="MachineChangedAsync"/>); for a
    /// <c>wake_in_progress</c> one the caller asks for the wake. <paramref name="admit"/> (the org's session quota) runs in
    /// the insert's transaction for a session that would be live, and refuses by throwing: then nothing is stored.
    /// </summary>
    public async Task<SessionRecord> OpenAsync(MachineRecord machine, SshPublicKey key, Action<IResourceReader>? admit = null, CancellationToken cancellationToken = default)
    {
        var now = timeProvider.GetUtcNow();
        var session = new SessionRecord
        {
            Id = SessionIds.New(),
            OrgId = machine.OrgId,
            MachineId = machine.Id,
            Status = SshSessionStatuses.WakeInProgress,
            PublicKey = key.ToOpenSshString(),
            Serial = SessionIds.NewSerial(),
            CreatedAt = now,
            ExpiresAt = now + options.SessionTtl,
        };

        if (IsDestroyed(machine))
        {
            session = session with { Status = SshSessionStatuses.Failed, ErrorCode = ErrorCodes.MachineDestroyed, ErrorMessage = DestroyedMessage(machine) };
        }
        else if (machine.Phase == MachinePhases.Failed)
        {
            session = session with { Status = SshSessionStatuses.Failed, ErrorCode = ErrorCodes.MachineFailed, ErrorMessage = FailedMessage(machine) };
        }
        else
        {
            // Signed by a user CA machines already trust: right after a rotation, the trust is published first.
            var keys = await trust.SigningKeysAsync(cancellationToken).ConfigureAwait(false);
            var certificate = keys.IssueUserCertificate(key, session.Id, session.Serial, machine.Id, now - options.CertificateBackdate, session.ExpiresAt);
            var status = LiveStatus(machine);
            session = session with
            {
                Certificate = certificate,
                Status = status,
                ReadyAt = status == SshSessionStatuses.Ready ? now : null,
            };
        }

        var revision = await store.InsertSessionAsync(session, session.Status == SshSessionStatuses.Failed ? null : admit, cancellationToken).ConfigureAwait(false);
        ServerLog.SessionCreated(logger, session.Id, machine.Id, session.Status, session.Serial);

        // The reconciler may have moved the machine between our read and the insert, and told only the sessions stored
        // before ours. The insert saw the machine's revision: when it moved, apply what the new state means to ours too.
        if (revision != machine.Revision && await store.GetMachineAsync(machine.Id, cancellationToken).ConfigureAwait(false) is { } current)
        {
            await MachineChangedAsync(current, cancellationToken).ConfigureAwait(false);
            return await store.GetSessionAsync(session.Id, cancellationToken).ConfigureAwait(false) ?? session;
        }

        return session;
    }

    /// <summary>
    /// Closes an open session: its serial goes into the KRL (new logins refused), then its live connections are cut.
    /// Returns the session as stored afterwards (unchanged when it had ended already).
    /// </summary>
    public async Task<SessionRecord> CloseAsync(SessionRecord session, CancellationToken cancellationToken = default)
    {
        if (await store.CloseSessionAsync(session.Id, timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false))
        {
            // The close is committed: a caller hanging up now must not leave the revocation unpublished or the connections open.
            // The machine's node may be another: it revokes and cuts on the signal, as this node does here.
            bus.Send(new Cluster.ClusterSignal(Cluster.ClusterSignalKind.SessionClosed, session.Id, session.MachineId));
            await trust.PublishAsync(CancellationToken.None).ConfigureAwait(false);
            var cut = await connections.CloseSessionConnectionsAsync(session.Id, CancellationToken.None).ConfigureAwait(false);
            ServerLog.SessionClosed(logger, session.Id, session.MachineId, session.Serial, cut);
        }

        return await store.GetSessionAsync(session.Id, cancellationToken).ConfigureAwait(false) ?? session;
    }

    /// <summary>
    /// Applies what the machine's state means for its open sessions. The reconciler calls it after every transition
    /// it writes, and whenever a pass finds the machine converged (so a session stored meanwhile is not left waiting).
    /// </summary>
    public async Task MachineChangedAsync(MachineRecord machine, CancellationToken cancellationToken = default)
    {
        var now = timeProvider.GetUtcNow();
        if (IsDestroyed(machine))
        {
            // A certificate already handed out must not outlive its machine.
            if (await store.EndMachineSessionsAsync(machine.Id, now, ErrorCodes.MachineDestroyed, DestroyedMessage(machine), cancellationToken).ConfigureAwait(false) > 0)
            {
                await trust.PublishAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        else if (machine.Phase == MachinePhases.Failed)
        {
            await store.FailWaitingSessionsAsync(machine.Id, ErrorCodes.MachineFailed, FailedMessage(machine), cancellationToken).ConfigureAwait(false);
        }
        else if (LiveStatus(machine) == SshSessionStatuses.Ready)
        {
            await store.MarkSessionsReadyAsync(machine.Id, now, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // Running without its gateway port (ssh_in_progress), or not running (wake_in_progress).
            await store.MarkSessionsWaitingAsync(machine.Id, LiveStatus(machine), now, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stores <c>expired</c> for every open session past its expiry; run by the sweeper.</summary>
    public async Task<int> ExpireLapsedAsync(CancellationToken cancellationToken = default)
    {
        var expired = await store.ExpireSessionsAsync(timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (expired > 0)
        {
            ServerLog.SessionsExpired(logger, expired);
        }

        return expired;
    }

    /// <summary>
    /// Closes every live session whose certificate came from a user CA that machines no longer trust (its rotation's
    /// overlap has ended: at once with <c>--overlap 0</c>): their serials are revoked and their open connections cut,
    /// as a delete would, so that the API does not call <c>ready</c> a session whose certificate every machine refuses,
    /// and a connection opened before the rotation ends with it. Run by the sweeper; it reads the sessions only when the
    /// published trust changed since its last run. Returns how many it closed.
    /// </summary>
    public async Task<int> CloseUntrustedAsync(CancellationToken cancellationToken = default)
    {
        if (!trust.HasPublished || (_checkedTrust is { } checkedTrust && checkedTrust.SequenceEqual(trust.TrustedUserCas)))
        {
            return 0;
        }

        var now = timeProvider.GetUtcNow();
        var live = await store.ListLiveSessionsAsync(now, cancellationToken).ConfigureAwait(false);

        // Read after the sessions: a session is signed only once its CA is published, so every CA a listed session was
        // signed by is in this list unless machines stopped trusting it.
        var trusted = trust.TrustedUserCas;
        var closed = new List<SessionRecord>();
        foreach (var session in live)
        {
            if (SignerOf(session) is { } signer && !trusted.Contains(signer)
                && await store.CloseSessionAsync(session.Id, now, cancellationToken).ConfigureAwait(false))
            {
                closed.Add(session);
            }
        }

        if (closed.Count > 0)
        {
            // The closes are committed: their revocations are published and their connections cut whatever happens to the caller.
            await trust.PublishAsync(CancellationToken.None).ConfigureAwait(false);
            foreach (var session in closed)
            {
                bus.Send(new Cluster.ClusterSignal(Cluster.ClusterSignalKind.SessionClosed, session.Id, session.MachineId));
                var cut = await connections.CloseSessionConnectionsAsync(session.Id, CancellationToken.None).ConfigureAwait(false);
                ServerLog.SessionClosed(logger, session.Id, session.MachineId, session.Serial, cut);
            }

            ServerLog.UntrustedSessionsClosed(logger, closed.Count);
        }

        _checkedTrust = trusted;
        return closed.Count;
    }

    /// <summary>
    /// A stored session as of <paramref name="now"/>: an open session past its expiry reads <c>expired</c> before the
    /// sweeper has stored it so. Pure: nothing is written.
    /// </summary>
    public static SessionRecord AsOf(SessionRecord session, DateTimeOffset now) =>
        session.Status is SshSessionStatuses.Ready or SshSessionStatuses.WakeInProgress or SshSessionStatuses.SshInProgress && now >= session.ExpiresAt
            ? session with { Status = SshSessionStatuses.Expired }
            : session;

    /// <summary>The CA that signed the session's certificate; null when it has none or it cannot be read (left alone).</summary>
    private static SshPublicKey? SignerOf(SessionRecord session)
    {
        if (session.Certificate is null)
        {
            return null;
        }

        try
        {
            return SshCertificate.Parse(session.Certificate).SignatureKey;
        }
        catch (SshFormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// What a live machine means for a session on it: <c>ready</c> when it runs and the gateway listens on its port;
    /// <c>ssh_in_progress</c> when it runs but another process holds its port (no <c>ready</c> for a port that is not
    /// ours); else <c>wake_in_progress</c>.
    /// </summary>
    private static string LiveStatus(MachineRecord machine) =>
        !(machine.Phase == MachinePhases.Running && machine.DesiredState == DesiredStates.Running) ? SshSessionStatuses.WakeInProgress
        : !machine.IsGatewayPortUnavailable ? SshSessionStatuses.Ready
        : SshSessionStatuses.SshInProgress;

    private static bool IsDestroyed(MachineRecord machine) =>
        machine.DesiredState == DesiredStates.Destroyed || machine.Phase is MachinePhases.Destroying or MachinePhases.Destroyed;

    private static string DestroyedMessage(MachineRecord machine) => $"machine {machine.Id} is destroyed";

    private static string FailedMessage(MachineRecord machine) => $"machine {machine.Id} failed: {machine.LastError ?? "unknown error"}";
}
