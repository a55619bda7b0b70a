using System.Buffers;
using System.Globalization;
using System.Net.Sockets;

namespace Dedalus.Gateway;

/// <summary>The client's identification line: read cheaply, checked early, kept for sshd.</summary>
public sealed partial class SshGateway
{
    /// <summary>
    /// Waits for the client's identification line (RFC 4253 section 4.2) without holding a buffer while the client is
    /// silent (zero-byte receive), and reads at most <see cref="SshIdentificationLine.MaxLength"/> bytes. Returns the
    /// bytes read (the line and whatever came with it, for sshd), or a refusal (not SSH, too slow, dropped); neither
    /// when the client left or the connection was cut.
    /// </summary>
    private async Task<(GatewayRefusal? Refusal, byte[]? Received)> IdentifyAsync(GatewayConnection connection)
    {
        var socket = connection.Socket;
        var token = connection.PreAuthenticationEnded;
        byte[]? buffer = null;
        var filled = 0;
        try
        {
            while (true)
            {
                await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, token).ConfigureAwait(false);
                buffer ??= ArrayPool<byte>.Shared.Rent(SshIdentificationLine.MaxLength);
                var read = await socket.ReceiveAsync(buffer.AsMemory(filled, SshIdentificationLine.MaxLength - filled), SocketFlags.None, token).ConfigureAwait(false);
                if (read == 0)
                {
                    connection.TrySetEnd(GatewayConnectionEnd.ClientClosed);
                    return (null, null);
                }

                filled += read;
                switch (SshIdentificationLine.Check(buffer.AsSpan(0, filled), out var problem))
                {
                    case SshIdentificationStatus.Incomplete:
                        continue;
                    case SshIdentificationStatus.NotSsh:
                        return (new GatewayRefusal(GatewayConnectionEnd.RefusedNotSsh, SshDisconnectReason.ProtocolError, $"this port speaks SSH only: {problem}"), null);
                    case SshIdentificationStatus.UnsupportedVersion:
                        return (new GatewayRefusal(GatewayConnectionEnd.RefusedNotSsh, SshDisconnectReason.ProtocolVersionNotSupported, problem!), null);
                    case SshIdentificationStatus.Complete:
                        if (!connection.TryIdentified())
                        {
                            return (PreAuthenticationRefusal(connection), null);
                        }

                        _budget.Identified(connection.BudgetEntry!);
                        return (null, buffer.AsSpan(0, filled).ToArray());
                    default:
                        throw new InvalidOperationException("unexpected identification status");
                }
            }
        }
        catch (OperationCanceledException)
        {
            return (PreAuthenticationRefusal(connection), null);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Reset by the client, or cut by the gateway (which set the end first).
            connection.TrySetEnd(GatewayConnectionEnd.ClientClosed);
            return (null, null);
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>The refusal for a connection whose wait ended early (deadline or drop); null when it was cut instead.</summary>
    private GatewayRefusal? PreAuthenticationRefusal(GatewayConnection connection) => connection.End switch
    {
        GatewayConnectionEnd.IdentificationTimeout => new GatewayRefusal(
            GatewayConnectionEnd.IdentificationTimeout,
            SshDisconnectReason.ProtocolError,
            $"no SSH identification line within {Seconds(_options.IdentificationTimeout)}"),
        GatewayConnectionEnd.PendingEvicted => new GatewayRefusal(
            GatewayConnectionEnd.PendingEvicted,
            SshDisconnectReason.TooManyConnections,
            "too many connections waiting to identify; this one had waited longest"),
        GatewayConnectionEnd.AuthenticationTimeout => new GatewayRefusal(
            GatewayConnectionEnd.AuthenticationTimeout,
            SshDisconnectReason.TooManyConnections,
            $"too many logins in progress to {connection.MachineId}: none started within {Seconds(_options.AuthenticationTimeout)}; try again"),
        _ => null,
    };

    private static string Seconds(TimeSpan duration) =>
        string.Create(CultureInfo.InvariantCulture, $"{duration.TotalSeconds:0.###} s");
}
