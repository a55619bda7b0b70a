using System.Net.Sockets;
using Dedalus.Machines.Runtime;
using Dedalus.Machines.Ssh;

namespace Dedalus.Gateway;

/// <summary>
/// Accepting, limiting, admitting and bridging connections. A connection costs a socket and a few small objects until
/// it has sent its identification line (SshGateway.Identification.cs) and is admitted and given a handshake slot; only
/// then is sshd started. Refusals are in SshGateway.Refusals.cs.
/// </summary>
public sealed partial class SshGateway
{
    private async Task AcceptLoopAsync(MachineListener listener)
    {
        while (!listener.Stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.Socket.AcceptAsync(listener.Stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                if (listener.Stopping.IsCancellationRequested)
                {
                    return;
                }

                // Transient (EMFILE, ECONNABORTED): log and go on after a short pause.
                GatewayLog.AcceptFailed(_logger, listener.MachineId, ex);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50), _timeProvider, listener.Stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            // Off the accept loop: admission and exec may complete synchronously and take a while.
            _ = Task.Run(() => HandleConnectionAsync(listener, socket));
        }
    }

    private async Task HandleConnectionAsync(MachineListener listener, Socket socket)
    {
        var id = Interlocked.Increment(ref _nextConnectionId);
        var machineId = listener.MachineId;
        var connection = new GatewayConnection(id, machineId, socket, _timeProvider.GetUtcNow(), _options.StderrTailLines, _metrics);
        GatewayLog.ConnectionAccepted(_logger, id, machineId, connection.Peer);
        string? detail = null;
        IMachineProcess? process = null;
        var closedGracefully = false;
        try
        {
            ConfigureClientSocket(socket);
            var refusal = Enter(connection);
            byte[]? received = null;
            if (refusal is null)
            {
                _connections[id] = connection;
                listener.Connections[id] = connection;
                connection.StartDeadline(_timeProvider, _options.IdentificationTimeout);
                (refusal, received) = await IdentifyAsync(connection).ConfigureAwait(false);
            }

            if (refusal is null && received is not null)
            {
                refusal = await AdmitAndQueueAsync(listener, connection).ConfigureAwait(false);
                if (refusal is null && connection.Stage == ConnectionStage.Handshaking)
                {
                    process = await ConnectSshServerAsync(connection).ConfigureAwait(false);
                    connection.AttachProcess(process);
                    ReportActivity(machineId);
                    var end = await connection.PumpAsync(
                        process,
                        received,
                        _options.CheckKexInit,
                        _options.HalfCloseTimeout,
                        _options.BufferSize,
                        _timeProvider,
                        record => OnSshdStderrRecord(listener, connection, record)).ConfigureAwait(false);
                    connection.TrySetEnd(end);
                    if (connection.End == GatewayConnectionEnd.ProtocolViolation)
                    {
                        detail = connection.ViolationDetail;
                        GatewayLog.ProtocolViolation(_logger, id, machineId, connection.Peer, detail!);
                    }
                }
            }

            if (refusal is { } refused)
            {
                detail = refused.Detail;
                connection.TrySetEnd(refused.End);

                // A refused connection holds no budget while the client reads why.
                ReleaseSlots(listener, connection);
                await RefuseAsync(connection, refused).ConfigureAwait(false);
                closedGracefully = true;
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            if (connection.TrySetEnd(GatewayConnectionEnd.Error))
            {
                detail = ex is OperationCanceledException && !connection.Aborted.IsCancellationRequested
                    ? $"timed out: {ex.Message}"
                    : ex.Message;
                GatewayLog.ConnectionFailed(_logger, id, machineId, detail, ex);
                if (process is null)
                {
                    // sshd never started: tell the human, without internal details.
                    ReleaseSlots(listener, connection);
                    await SendRefusalAsync(connection, new GatewayRefusal(
                        GatewayConnectionEnd.Error, SshDisconnectReason.ServiceNotAvailable, $"{machineId} cannot be reached right now; try again")).ConfigureAwait(false);
                    closedGracefully = true;
                }
            }
        }
        finally
        {
            if (process is not null)
            {
                await DisposeProcessAsync(process).ConfigureAwait(false);
            }

            if (!closedGracefully && connection.End is GatewayConnectionEnd.ClientClosed or GatewayConnectionEnd.Error)
            {
                connection.Reset();
            }
            else
            {
                connection.Socket.Dispose();
            }

            if (process is not null)
            {
                // Before the count drops: whoever sees zero open connections also sees this activity.
                ReportActivity(machineId);
            }

            if (connection.End == GatewayConnectionEnd.AuthenticationTimeout && detail is null)
            {
                // Cut in its handshake (a refusal while it waited for one has its own detail).
                detail = $"not authenticated within {Seconds(_options.AuthenticationTimeout)}";
                GatewayLog.AuthenticationTimedOut(_logger, id, machineId, connection.Peer, detail);
            }

            _connections.TryRemove(id, out _);
            listener.Connections.TryRemove(id, out _);
            ReleaseSlots(listener, connection);
            await RecordAsync(connection, detail).ConfigureAwait(false);
            connection.MarkCompleted();
        }
    }

    /// <summary>Counts a new connection gateway-wide and in the pending budgets; a refusal when one is full.</summary>
    private GatewayRefusal? Enter(GatewayConnection connection)
    {
        connection.Hold(ConnectionSlots.Total);
        _metrics?.Opened();
        if (Interlocked.Increment(ref _total) > _options.MaxConnections)
        {
            return new GatewayRefusal(
                GatewayConnectionEnd.RefusedGatewayLimit,
                SshDisconnectReason.TooManyConnections,
                $"too many connections through this gateway (limit {_options.MaxConnections})");
        }

        var entry = new PreAuthenticationEntry(connection);
        var admission = _budget.TryEnter(entry, out var evicted);
        if (evicted is not null)
        {
            evicted.CancelPreAuthentication();
        }

        switch (admission)
        {
            case PreAuthenticationAdmission.Entered:
                connection.BudgetEntry = entry;
                return null;
            case PreAuthenticationAdmission.SourceFull:
                return new GatewayRefusal(
                    GatewayConnectionEnd.RefusedSourceLimit,
                    SshDisconnectReason.TooManyConnections,
                    $"too many unauthenticated connections from {connection.Source} (limit {_options.MaxPendingConnectionsPerSource})");
            case PreAuthenticationAdmission.MachineFull:
                return new GatewayRefusal(
                    GatewayConnectionEnd.RefusedPendingLimit,
                    SshDisconnectReason.TooManyConnections,
                    $"too many unauthenticated connections to {connection.MachineId} (limit {_options.MaxPendingConnectionsPerMachine}); try again");
            case PreAuthenticationAdmission.GatewayFull:
                return new GatewayRefusal(
                    GatewayConnectionEnd.RefusedPendingLimit,
                    SshDisconnectReason.TooManyConnections,
                    $"too many unauthenticated connections through this gateway (limit {_options.MaxPendingConnections}); try again");
            default:
                throw new InvalidOperationException($"unexpected budget answer {admission}");
        }
    }

    /// <summary>
    /// After the identification line: the backend's admission (and wake), a handshake slot, the machine's limit of
    /// authenticated connections. Null when sshd may start (the stage is then <see cref="ConnectionStage.Handshaking"/>),
    /// or when the connection was cut meanwhile.
    /// </summary>
    private async Task<GatewayRefusal?> AdmitAndQueueAsync(MachineListener listener, GatewayConnection connection)
    {
        var machineId = connection.MachineId;
        connection.Hold(ConnectionSlots.Open);
        listener.Increment();
        if (MachineFull(listener) is { } full)
        {
            return full;
        }

        var admission = await AdmitAsync(connection).ConfigureAwait(false);
        switch (admission)
        {
            case GatewayAdmission.Unknown:
                return new GatewayRefusal(GatewayConnectionEnd.RefusedUnknownMachine, SshDisconnectReason.ServiceNotAvailable, $"unknown machine {machineId}");
            case GatewayAdmission.Deleted:
                return new GatewayRefusal(GatewayConnectionEnd.RefusedDeleted, SshDisconnectReason.ServiceNotAvailable, $"{machineId} is deleted");
            case GatewayAdmission.SleepingWithoutLiveSession:
                return new GatewayRefusal(
                    GatewayConnectionEnd.RefusedSleeping, SshDisconnectReason.ServiceNotAvailable, $"{machineId} is asleep; create an SSH session to wake it");
            case GatewayAdmission.SleepingWithLiveSession:
                await WakeAsync(connection).ConfigureAwait(false);
                break;
            case GatewayAdmission.Running:
                break;
            default:
                throw new InvalidOperationException($"unexpected admission {admission}");
        }

        if (!connection.TryQueue(_options.AuthenticationTimeout))
        {
            return PreAuthenticationRefusal(connection);
        }

        var entry = connection.BudgetEntry!;
        if (_budget.GetHandshakeCount(machineId) >= _options.MaxHandshakesPerMachine)
        {
            GatewayLog.WaitingForHandshake(_logger, connection.Id, machineId);
        }

        try
        {
            await _budget.WaitForHandshakeAsync(entry, connection.PreAuthenticationEnded).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return PreAuthenticationRefusal(connection);
        }

        if (MachineFull(listener) is { } stillFull)
        {
            return stillFull;
        }

        return connection.TryStartHandshake() ? null : PreAuthenticationRefusal(connection);
    }

    private GatewayRefusal? MachineFull(MachineListener listener) =>
        listener.AuthenticatedCount >= _options.MaxConnectionsPerMachine
            ? new GatewayRefusal(
                GatewayConnectionEnd.RefusedMachineLimit,
                SshDisconnectReason.TooManyConnections,
                $"too many connections to {listener.MachineId} (limit {_options.MaxConnectionsPerMachine})")
            : null;

    /// <summary>Gives back whatever the connection is counted in; safe to call more than once.</summary>
    private void ReleaseSlots(MachineListener listener, GatewayConnection connection)
    {
        if (connection.BudgetEntry is { } entry)
        {
            _budget.Leave(entry);
        }

        if (connection.EndStage() == ConnectionStage.Authenticated)
        {
            listener.DecrementAuthenticated();
        }

        if (connection.TryRelease(ConnectionSlots.Open))
        {
            listener.Decrement();
        }

        if (connection.TryRelease(ConnectionSlots.Total))
        {
            Interlocked.Decrement(ref _total);
            _metrics?.Closed();
        }
    }

    private void ConfigureClientSocket(Socket socket)
    {
        socket.NoDelay = true;
        if (_options.TcpKeepAliveTime > TimeSpan.Zero)
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, (int)Math.Max(1, _options.TcpKeepAliveTime.TotalSeconds));
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 15);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 4);
        }
    }

    private async Task<GatewayAdmission> AdmitAsync(GatewayConnection connection)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.Aborted);
        timeout.CancelAfter(_options.AdmissionTimeout);
        return await _backend.AdmitAsync(connection.MachineId, timeout.Token).ConfigureAwait(false);
    }

    private async Task WakeAsync(GatewayConnection connection)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.Aborted);
        timeout.CancelAfter(_options.AdmissionTimeout);
        await _backend.WakeAsync(connection.MachineId, timeout.Token).ConfigureAwait(false);
    }

    private async Task<IMachineProcess> ConnectSshServerAsync(GatewayConnection connection)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.Aborted);
        timeout.CancelAfter(_options.ConnectTimeout);
        return await _sshServers.ConnectAsync(connection.MachineId, timeout.Token).ConfigureAwait(false);
    }

    private const string ForgedLoginMarker = "Accepted publickey for ";

    private void OnSshdStderrRecord(MachineListener listener, GatewayConnection connection, SshdLogRecord record)
    {
        foreach (var line in record.DisplayLines)
        {
            GatewayLog.SshdStderr(_logger, connection.Id, line);
        }

        // Only a record that is exactly one line is sshd's own line: one whose client-chosen text held a line break is
        // split for the log but never read as a login (SshdLogReader).
        if (!record.TryParseAccepted(out var accepted))
        {
            if (!record.Attributable && record.Lines.Any(line => line.Contains(ForgedLoginMarker, StringComparison.Ordinal)))
            {
                GatewayLog.ForgedLogin(_logger, connection.Id, connection.MachineId);
            }

            return;
        }

        if (connection.TrySetSession(accepted) is { } known)
        {
            if (known.SessionId != accepted.SessionId || known.Serial != accepted.Serial)
            {
                // One connection logs in once. Lines a client had sshd write (its KEXINIT offer, its disconnect message:
                // text with line breaks, unescaped) are not attributable records, so this should not happen; should it,
                // which of the two is sshd's cannot be told: cut.
                GatewayLog.ConflictingLogin(_logger, connection.Id, connection.MachineId, known.SessionId, accepted.SessionId);
                connection.Cut(GatewayConnectionEnd.Error);
            }

            return;
        }

        var sessionId = accepted.SessionId;
        var serial = accepted.Serial;

        // Counted before the stage changes, uncounted if it did not: ReleaseSlots uncounts exactly what the stage says.
        listener.IncrementAuthenticated();
        if (connection.TryAuthenticate())
        {
            _budget.Leave(connection.BudgetEntry!);
        }
        else
        {
            listener.DecrementAuthenticated();
        }

        GatewayLog.ConnectionAuthenticated(_logger, connection.Id, connection.MachineId, sessionId, serial);
        if (_closedSessions.ContainsKey(sessionId))
        {
            // The session was closed while this login raced the revocation list: cut it.
            connection.Cut(GatewayConnectionEnd.SessionClosed);
        }
    }
}
