using System.Net.Sockets;

namespace Dedalus.Gateway;

/// <summary>Turning a connection away readably: the reason in plain <c>ssh</c>'s output, then a clean close.</summary>
public sealed partial class SshGateway
{
    /// <summary>Refusals waiting for their client to close at once; past this, a refused connection is closed without waiting.</summary>
    private const int MaxDrainingRefusals = 256;

    private int _drainingRefusals;

    /// <summary>Records the end, logs it, tells the client (<see cref="SshRefusal"/>) and closes.</summary>
    private async Task RefuseAsync(GatewayConnection connection, GatewayRefusal refusal)
    {
        connection.TrySetEnd(refusal.End);
        var (id, machineId, peer) = (connection.Id, connection.MachineId, connection.Peer);
        switch (refusal.End)
        {
            case GatewayConnectionEnd.IdentificationTimeout:
                GatewayLog.IdentificationTimedOut(_logger, id, machineId, peer, refusal.Detail);
                break;
            case GatewayConnectionEnd.AuthenticationTimeout:
                GatewayLog.AuthenticationTimedOut(_logger, id, machineId, peer, refusal.Detail);
                break;
            case GatewayConnectionEnd.PendingEvicted:
                GatewayLog.PendingConnectionEvicted(_logger, id, machineId, peer, refusal.Detail);
                break;
            case GatewayConnectionEnd.RefusedNotSsh:
                GatewayLog.NotSsh(_logger, id, machineId, peer, refusal.Detail);
                break;
            default:
                GatewayLog.ConnectionRefused(_logger, id, machineId, peer, refusal.End.ToWireName(), refusal.Detail);
                break;
        }

        await SendRefusalAsync(connection, refusal).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends the refusal (unless <see cref="GatewayOptions.SendRefusalLine"/> is off) and half-closes, then reads what the
    /// client sends until it closes (bounded), so that closing does not turn into a reset that could discard the refusal
    /// before the client reads it. Only so many refusals wait at once; the rest close right after sending.
    /// </summary>
    private async Task SendRefusalAsync(GatewayConnection connection, GatewayRefusal refusal)
    {
        if (!_options.SendRefusalLine)
        {
            return;
        }

        var socket = connection.Socket;
        var draining = Interlocked.Increment(ref _drainingRefusals) <= MaxDrainingRefusals;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.Aborted);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            var bytes = SshRefusal.Build(refusal.Detail, refusal.Reason);
            await socket.SendAsync(bytes, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
            var sink = new byte[256];
            if (!draining)
            {
                // What already arrived, without waiting for more.
                while (socket.Available > 0 && socket.Receive(sink) > 0)
                {
                }

                return;
            }

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
        finally
        {
            Interlocked.Decrement(ref _drainingRefusals);
        }
    }
}
