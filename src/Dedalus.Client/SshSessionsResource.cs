using Dedalus.Client.Http;
using Dedalus.Client.Ssh;
using Dedalus.Contracts;

namespace Dedalus.Client;

/// <summary>
/// The <c>/v1/machines/{id}/ssh</c> resource: short-lived certificates for OpenSSH access. Ids are checked before anything
/// is sent: a machine id in neither form, or a session id of another shape than <see cref="SshSessionIds"/>, is an
/// <see cref="ArgumentException"/>.
/// </summary>
public sealed partial class SshSessionsResource
{
    private readonly ApiRequester _requester;

    internal SshSessionsResource(ApiRequester requester)
    {
        _requester = requester;
    }

    /// <summary>
    /// Creates an SSH session for a public key (<c>POST /v1/machines/{id}/ssh</c>). A sleeping machine is
    /// woken; the session is then <c>wake_in_progress</c> until it runs (see <see cref="WaitUntilReadyAsync"/>).
    /// </summary>
    /// <param name="machineId">The machine id (<c>dm-&lt;uuid&gt;</c> or the bare uuid).</param>
    /// <param name="publicKey">The client's public key as an authorized_keys line.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new session.</returns>
    public Task<SshSession> CreateAsync(string machineId, string publicKey, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(publicKey);
        return _requester.SendAsync(
            HttpMethod.Post, SessionsPath(machineId), new CreateSshSessionRequest(publicKey.Trim()),
            DedalusJsonContext.Default.CreateSshSessionRequest, DedalusJsonContext.Default.SshSession, cancellationToken);
    }

    /// <summary>Reads one session (<c>GET /v1/machines/{id}/ssh/{session_id}</c>).</summary>
    /// <param name="machineId">The machine id.</param>
    /// <param name="sessionId">The session id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The session.</returns>
    public Task<SshSession> RetrieveAsync(string machineId, string sessionId, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Get, SessionPath(machineId, sessionId), DedalusJsonContext.Default.SshSession, cancellationToken);

    /// <summary>Lists a machine's sessions, fetching further pages as the caller enumerates.</summary>
    /// <param name="machineId">The machine id.</param>
    /// <param name="limit">Page size to ask for.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The sessions.</returns>
    public IAsyncEnumerable<SshSession> ListAsync(string machineId, int? limit = null, CancellationToken cancellationToken = default) =>
        Paging.EnumerateAsync(
            (cursor, ct) => ListPageAsync(machineId, limit, cursor, ct),
            page => (page.Items, page.NextCursor),
            cancellationToken);

    /// <summary>Reads one page of a machine's sessions.</summary>
    /// <param name="machineId">The machine id.</param>
    /// <param name="limit">Page size to ask for.</param>
    /// <param name="cursor">The <c>next_cursor</c> of the previous page; <see langword="null"/> for the first.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page.</returns>
    public Task<SshSessionList> ListPageAsync(string machineId, int? limit = null, string? cursor = null, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Get, Paging.Query(SessionsPath(machineId), limit, cursor), DedalusJsonContext.Default.SshSessionList, cancellationToken);

    /// <summary>
    /// Closes a session (<c>DELETE /v1/machines/{id}/ssh/{session_id}</c>): its certificate is revoked and its
    /// live connections are cut.
    /// </summary>
    /// <param name="machineId">The machine id.</param>
    /// <param name="sessionId">The session id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The session, now <c>closed</c>.</returns>
    public Task<SshSession> DeleteAsync(string machineId, string sessionId, CancellationToken cancellationToken = default) =>
        _requester.SendAsync(HttpMethod.Delete, SessionPath(machineId, sessionId), DedalusJsonContext.Default.SshSession, cancellationToken);

    /// <summary>
    /// Polls a session until it is <c>ready</c>, waiting the server's <c>retry_after_ms</c> (500 ms when
    /// absent) between reads. The ready session's connection fields are validated.
    /// </summary>
    /// <param name="session">The session as returned by <see cref="CreateAsync"/>.</param>
    /// <param name="timeout">Give up after this long; 2 minutes when <see langword="null"/>.</param>
    /// <param name="progress">Told of every state read, for progress display.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The ready session, with a complete <see cref="SshSession.Connection"/>.</returns>
    /// <exception cref="DedalusSshSessionException">
    /// The session ended (<c>closed</c>, <c>expired</c>, <c>failed</c>, with the server's reason), the server sent
    /// an unusable answer, or the session was not ready in time.
    /// </exception>
    public async Task<SshSession> WaitUntilReadyAsync(
        SshSession session,
        TimeSpan? timeout = null,
        IProgress<SshSession>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        var time = _requester.TimeProvider;
        var limit = timeout ?? TimeSpan.FromMinutes(2);
        var started = time.GetTimestamp();
        var machineId = session.MachineId;
        using var watchCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task? running = null;
        try
        {
            while (true)
            {
                progress?.Report(session);
                switch (session.Status)
                {
                    case SshSessionStatuses.Ready:
                        SshSessionValidator.ThrowIfNotUsable(session);
                        return session;
                    case SshSessionStatuses.Failed:
                        throw new DedalusSshSessionException(
                            $"ssh session {session.SessionId} failed: {Reason(session)}{(session.ErrorCode is { Length: > 0 } code ? $" ({code})" : string.Empty)}",
                            session);
                    case SshSessionStatuses.Expired:
                        throw new DedalusSshSessionException($"ssh session {session.SessionId} expired before it was used; create a new session", session);
                    case SshSessionStatuses.Closed:
                        throw new DedalusSshSessionException($"ssh session {session.SessionId} was closed (deleted by another client?); create a new session", session);
                }

                var delay = PollDelay(session);
                if (time.GetElapsedTime(started) + delay > limit)
                {
                    throw new DedalusSshSessionException(
                        $"ssh session {session.SessionId} was not ready after {limit.TotalSeconds:0.#} s (status {session.Status}); the machine may be stuck waking: check `dedalus machines retrieve {machineId}`",
                        session,
                        isTimeout: true);
                }

                ThrowIfUnaddressable(session, machineId);

                // While the machine wakes, also follow its status stream: the session is read again as soon as the
                // machine runs rather than only after retry_after_ms (a wake takes tens of milliseconds here).
                if (session.Status == SshSessionStatuses.WakeInProgress)
                {
                    running ??= WaitForRunningAsync(machineId, watchCts.Token);
                }

                var sleep = Task.Delay(delay, time, cancellationToken);
                if (running is { IsCompleted: false })
                {
                    await Task.WhenAny(sleep, running).ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                }
                else
                {
                    await sleep.ConfigureAwait(false);
                }

                session = await RetrieveAsync(machineId, session.SessionId, cancellationToken).ConfigureAwait(false);
                if (!string.IsNullOrEmpty(session.MachineId))
                {
                    machineId = session.MachineId;
                }
            }
        }
        finally
        {
            await watchCts.CancelAsync().ConfigureAwait(false);
            if (running is not null)
            {
                await running.ConfigureAwait(false);
            }
        }
    }

    /// <summary>Completes when the machine's status stream shows it running or ends; never throws.</summary>
    private async Task WaitForRunningAsync(string machineId, CancellationToken cancellationToken)
    {
        try
        {
            var path = MachinesResource.MachinePath(machineId) + "/status/stream";
            await foreach (var machine in MachineWatch.WatchAsync(_requester, path, null, cancellationToken).ConfigureAwait(false))
            {
                if ((machine.Status?.Phase ?? machine.Phase) == MachinePhases.Running)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is DedalusException or OperationCanceledException or HttpRequestException or IOException)
        {
            // Following the machine only shortens the wait; polling goes on without it.
        }
    }

    /// <summary>The ids the server sent go into paths next: ids of another shape are the server's bug, not a request to send.</summary>
    private static void ThrowIfUnaddressable(SshSession session, string machineId)
    {
        if (!SshSessionIds.IsWellFormed(session.SessionId) || !MachineIds.TryParse(machineId, out _))
        {
            throw new DedalusSshSessionException(
                $"the server sent ssh session id '{IdText.Shown(session.SessionId ?? string.Empty)}' on machine '{IdText.Shown(machineId ?? string.Empty)}', " +
                "which are not ids a request can name; this is a server bug",
                session);
        }
    }

    private static TimeSpan PollDelay(SshSession session) => session.RetryAfterMs switch
    {
        null or 0 => TimeSpan.FromMilliseconds(500),
        > 0 and <= 60_000 and var ms => TimeSpan.FromMilliseconds(ms),
        var ms => throw new DedalusSshSessionException(
            $"the server sent retry_after_ms={ms} for ssh session {session.SessionId}, outside (0, 60000]; this is a server bug", session),
    };

    private static string Reason(SshSession session) =>
        string.IsNullOrWhiteSpace(session.ErrorMessage) ? "no detail from the server" : session.ErrorMessage;

    private static string SessionsPath(string machineId) => MachinesResource.MachinePath(machineId) + "/ssh";

    /// <summary>The path of a session; a session id of another shape than <see cref="SshSessionIds"/> is refused and nothing is sent.</summary>
    /// <exception cref="ArgumentException"><paramref name="machineId"/> or <paramref name="sessionId"/> is not an id.</exception>
    private static string SessionPath(string machineId, string sessionId)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        var machinePath = SessionsPath(machineId);
        return SshSessionIds.IsWellFormed(sessionId)
            ? machinePath + "/" + sessionId
            : throw new ArgumentException(
                $"'{IdText.Shown(sessionId)}' is not an ssh session id: pass a session's session_id, {SshSessionIds.FormatDescription}; nothing was sent",
                nameof(sessionId));
    }
}
