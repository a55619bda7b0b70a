using System.Net.Sockets;
using System.Text;
using Dedalus.Machines.Runtime;

namespace Dedalus.Gateway;

/// <summary>Accepting, limiting, admitting and bridging connections.</summary>
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
        var connection = new GatewayConnection(id, machineId, socket, _timeProvider.GetUtcNow(), _options.StderrTailLines);
        GatewayLog.ConnectionAccepted(_logger, id, machineId, connection.Peer);
        string? detail = null;
        var countedGlobal = false;
        var countedMachine = false;
        IMachineProcess? process = null;
        var closedGracefully = false;
        try
        {
            ConfigureClientSocket(socket);
            countedGlobal = true;
            if (Interlocked.Increment(ref _total) > _options.MaxConnections)
            {
                detail = $"too many connections through this gateway (limit {_options.MaxConnections})";
                await RefuseAsync(connection, GatewayConnectionEnd.RefusedGatewayLimit, detail).ConfigureAwait(false);
                return;
            }

            countedMachine = true;
            if (listener.Increment() > _options.MaxConnectionsPerMachine)
            {
                detail = $"too many connections to {machineId} (limit {_options.MaxConnectionsPerMachine})";
                await RefuseAsync(connection, GatewayConnectionEnd.RefusedMachineLimit, detail).ConfigureAwait(false);
                return;
            }

            _connections[id] = connection;
            listener.Connections[id] = connection;

            var admission = await AdmitAsync(connection).ConfigureAwait(false);
            switch (admission)
            {
                case GatewayAdmission.Unknown:
                    detail = $"unknown machine {machineId}";
                    await RefuseAsync(connection, GatewayConnectionEnd.RefusedUnknownMachine, detail).ConfigureAwait(false);
                    return;
                case GatewayAdmission.Deleted:
                    detail = $"{machineId} is deleted";
                    await RefuseAsync(connection, GatewayConnectionEnd.RefusedDeleted, detail).ConfigureAwait(false);
                    return;
                case GatewayAdmission.SleepingWithoutLiveSession:
                    detail = $"{machineId} is asleep; create an SSH session to wake it";
                    await RefuseAsync(connection, GatewayConnectionEnd.RefusedSleeping, detail).ConfigureAwait(false);
                    return;
                case GatewayAdmission.SleepingWithLiveSession:
                    await WakeAsync(connection).ConfigureAwait(false);
                    break;
                case GatewayAdmission.Running:
                    break;
                default:
                    throw new InvalidOperationException($"unexpected admission {admission}");
            }

            process = await ConnectSshServerAsync(connection).ConfigureAwait(false);
            connection.AttachProcess(process);
            ReportActivity(machineId);
            var end = await connection.PumpAsync(
                process,
                _options.HalfCloseTimeout,
                _options.BufferSize,
                _timeProvider,
                line => OnSshdStderrLine(connection, line)).ConfigureAwait(false);
            connection.TrySetEnd(end);
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
                    await SendLineAndCloseAsync(connection, $"{machineId} cannot be reached right now; try again").ConfigureAwait(false);
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

            _connections.TryRemove(id, out _);
            listener.Connections.TryRemove(id, out _);
            if (countedMachine)
            {
                listener.Decrement();
            }

            if (countedGlobal)
            {
                Interlocked.Decrement(ref _total);
            }

            await RecordAsync(connection, detail).ConfigureAwait(false);
            connection.MarkCompleted();
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

    private void OnSshdStderrLine(GatewayConnection connection, string line)
    {
        GatewayLog.SshdStderr(_logger, connection.Id, line);
        if (!SshdAcceptedLine.TryParse(line, out var sessionId, out var serial) || !connection.TrySetSession(sessionId, serial))
        {
            return;
        }

        GatewayLog.ConnectionAuthenticated(_logger, connection.Id, connection.MachineId, sessionId, serial);
        if (_closedSessions.ContainsKey(sessionId))
        {
            // The session was closed while this login raced the revocation list: cut it.
            connection.Cut(GatewayConnectionEnd.SessionClosed);
        }
    }

    /// <summary>Sends one human-readable line (RFC 4253 4.2: lines before the version string are allowed), then closes.</summary>
    private async Task RefuseAsync(GatewayConnection connection, GatewayConnectionEnd end, string detail)
    {
        connection.TrySetEnd(end);
        GatewayLog.ConnectionRefused(_logger, connection.Id, connection.MachineId, connection.Peer, end.ToWireName(), detail);
        await SendLineAndCloseAsync(connection, detail).ConfigureAwait(false);
    }

    private async Task SendLineAndCloseAsync(GatewayConnection connection, string detail)
    {
        if (!_options.SendRefusalLine)
        {
            return;
        }

        var socket = connection.Socket;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.Aborted);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            var line = Encoding.UTF8.GetBytes($"dedalus-gateway: {detail}\r\n");
            await socket.SendAsync(line, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);

            // Drain what the client already sent (its version string) so that closing does not
            // turn into a reset that could discard our line before the client reads it.
            var sink = new byte[256];
            while (await socket.ReceiveAsync(sink, SocketFlags.None, timeout.Token).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
