using System.Buffers;
using System.Net.Sockets;
using Dedalus.Machines.Runtime;
using Dedalus.Machines.Ssh;

namespace Dedalus.Gateway;

/// <summary>The two byte pumps (no allocation per read: pooled buffers, Memory-based socket calls).</summary>
internal sealed partial class GatewayConnection
{
    private const int IdleBufferSize = 4096;

    internal enum PumpResult
    {
        /// <summary>The source reached end of stream and the sink's write side was closed.</summary>
        EndOfStream,

        /// <summary>The socket was reset or failed.</summary>
        SocketFailed,

        /// <summary>The process side failed (sshd gone).</summary>
        ProcessFailed,

        /// <summary>The connection was cut or timed out.</summary>
        Cancelled,

        /// <summary>The client's first packet was refused (<see cref="SshKexInit"/>); <see cref="ViolationDetail"/> says why.</summary>
        ProtocolViolation,
    }

    /// <summary>Why the client's first packet was refused, once it was.</summary>
    public string? ViolationDetail { get; private set; }

    /// <summary>
    /// Bridges client and sshd until both directions end, one fails, or the connection is cut;
    /// returns how it ended. <paramref name="received"/> (the client's identification line and whatever came with it)
    /// reaches sshd first. With <paramref name="checkKexInit"/> the client's first binary packet reaches sshd only once
    /// <see cref="SshKexInit"/> found it a KEXINIT of printable names; otherwise the client gets a disconnect naming the
    /// problem and the connection ends as <see cref="GatewayConnectionEnd.ProtocolViolation"/>.
    /// </summary>
    public async Task<GatewayConnectionEnd> PumpAsync(IMachineProcess process, ReadOnlyMemory<byte> received, bool checkKexInit, TimeSpan halfCloseTimeout, int bufferSize, TimeProvider timeProvider, Action<SshdLogRecord> onStderrRecord)
    {
        var token = Aborted;
        PipeCapacity.TryGrow(process.StandardOutput);
        PipeCapacity.TryGrow(process.StandardInput);
        var stderr = ReadStderrAsync(process.StandardError, onStderrRecord, token);
        using var pumps = CancellationTokenSource.CreateLinkedTokenSource(token);
        var up = ClientToMachineAsync(process.StandardInput, received, checkKexInit, bufferSize, pumps.Token);
        var down = MachineToClientAsync(process.StandardOutput, bufferSize, pumps.Token);

        var first = await Task.WhenAny(up, down).ConfigureAwait(false);
        GatewayConnectionEnd end;
        if (first == up && up.Result == PumpResult.ProtocolViolation)
        {
            // sshd never saw the packet. Stop its output first (so the disconnect does not land inside one of its
            // packets), tell the client why, then end sshd.
            end = GatewayConnectionEnd.ProtocolViolation;
            TrySetEnd(end);
            await pumps.CancelAsync().ConfigureAwait(false);
            await WaitBoundedAsync(down, TimeSpan.FromSeconds(2), timeProvider).ConfigureAwait(false);
            await SendQuietlyAsync(SshRefusal.DisconnectPacket(SshDisconnectReason.ProtocolError, "dedalus-gateway: " + ViolationDetail), token).ConfigureAwait(false);
            process.Kill();
        }
        else if (first == up)
        {
            end = GatewayConnectionEnd.ClientClosed;
            if (up.Result == PumpResult.EndOfStream)
            {
                // Client half-closed: sshd saw EOF on stdin; let it finish writing, bounded.
                await WaitBoundedAsync(down, halfCloseTimeout, timeProvider).ConfigureAwait(false);
            }
            else if (up.Result == PumpResult.ProcessFailed)
            {
                end = GatewayConnectionEnd.MachineClosed;
            }
        }
        else
        {
            end = GatewayConnectionEnd.MachineClosed;
            if (down.Result == PumpResult.EndOfStream)
            {
                // sshd's output ended and the client got FIN: give the client a moment to close too.
                await WaitBoundedAsync(up, halfCloseTimeout, timeProvider).ConfigureAwait(false);
            }
            else if (down.Result == PumpResult.SocketFailed)
            {
                end = GatewayConnectionEnd.ClientClosed;
            }
        }

        TrySetEnd(end);
        if (!up.IsCompleted || !down.IsCompleted || up.Result != PumpResult.EndOfStream || down.Result != PumpResult.EndOfStream)
        {
            // Not a clean close of both directions (reset, failure, timeout): sshd has nothing left to do.
            process.Kill();
        }

        await pumps.CancelAsync().ConfigureAwait(false);
        if (!await WaitBoundedAsync(process.Exited, TimeSpan.FromSeconds(2), timeProvider).ConfigureAwait(false))
        {
            process.Kill();
        }

        await WaitBoundedAsync(Task.WhenAll(up, down), TimeSpan.FromSeconds(2), timeProvider).ConfigureAwait(false);
        await WaitBoundedAsync(stderr, TimeSpan.FromSeconds(2), timeProvider).ConfigureAwait(false);
        return End ?? end;
    }

    private async Task<PumpResult> ClientToMachineAsync(Stream stdin, ReadOnlyMemory<byte> received, bool checkKexInit, int bufferSize, CancellationToken cancellationToken)
    {
        try
        {
            // The identification line goes on at once (sshd sends its KEXINIT only after it, and a client may wait for
            // that); what follows it is held until the client's first packet is complete and checked.
            byte[]? held = null;
            var heldLength = 0;
            if (checkKexInit)
            {
                var lineEnd = received.Span.IndexOf((byte)'\n') + 1;
                held = new byte[SshKexInit.MaxPacketBytes];
                received[lineEnd..].CopyTo(held);
                heldLength = received.Length - lineEnd;
                received = received[..lineEnd];
            }

            if (!received.IsEmpty)
            {
                try
                {
                    await stdin.WriteAsync(received, cancellationToken).ConfigureAwait(false);
                    await stdin.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    return PumpResult.ProcessFailed;
                }
                catch (ObjectDisposedException)
                {
                    return PumpResult.ProcessFailed;
                }

                Interlocked.Add(ref _bytesFromClient, received.Length);
                _metrics?.Received(received.Length);
            }

            while (held is not null)
            {
                switch (SshKexInit.Check(held.AsSpan(0, heldLength), out var problem))
                {
                    case SshKexInitStatus.Invalid:
                        ViolationDetail = problem;
                        return PumpResult.ProtocolViolation;
                    case SshKexInitStatus.Valid:
                        try
                        {
                            await stdin.WriteAsync(held.AsMemory(0, heldLength), cancellationToken).ConfigureAwait(false);
                            await stdin.FlushAsync(cancellationToken).ConfigureAwait(false);
                        }
                        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
                        {
                            return PumpResult.ProcessFailed;
                        }

                        Interlocked.Add(ref _bytesFromClient, heldLength);
                        _metrics?.Received(heldLength);
                        held = null;
                        break;
                    default:
                        var read = await _socket.ReceiveAsync(held.AsMemory(heldLength), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                        if (read == 0)
                        {
                            TrySetEnd(GatewayConnectionEnd.ClientClosed);
                            await CloseQuietlyAsync(stdin).ConfigureAwait(false);
                            return PumpResult.EndOfStream;
                        }

                        heldLength += read;
                        break;
                }
            }

            var bulk = false;
            while (true)
            {
                if (!bulk)
                {
                    // Zero-byte read: wait for data without holding a buffer (idle connections hold none).
                    // Skipped while the previous read filled the buffer (more data is surely queued).
                    await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                }

                var buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
                try
                {
                    var read = await _socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        // The side that ends first names the end, decided here rather than by which pump task is
                        // seen to complete first (the other side may react before this task completes).
                        TrySetEnd(GatewayConnectionEnd.ClientClosed);
                        await CloseQuietlyAsync(stdin).ConfigureAwait(false);
                        return PumpResult.EndOfStream;
                    }

                    AcknowledgeNow();

                    try
                    {
                        await stdin.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        await stdin.FlushAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (IOException)
                    {
                        return PumpResult.ProcessFailed;
                    }
                    catch (ObjectDisposedException)
                    {
                        return PumpResult.ProcessFailed;
                    }

                    Interlocked.Add(ref _bytesFromClient, read);
                    _metrics?.Received(read);
                    bulk = read == buffer.Length;
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            return Stopped(ex, cancellationToken);
        }
    }

    /// <summary>How a pump that stopped on <paramref name="ex"/> ended: a socket error is the client's, unless the connection was being cut.</summary>
    private static PumpResult Stopped(Exception ex, CancellationToken cancellationToken) =>
        ex is SocketException && !cancellationToken.IsCancellationRequested ? PumpResult.SocketFailed : PumpResult.Cancelled;

    private async Task<PumpResult> MachineToClientAsync(Stream stdout, int bufferSize, CancellationToken cancellationToken)
    {
        // A generic Stream has no zero-byte read that waits for data, so one buffer stays posted.
        // It is small while the connection idles; a read that fills it switches to a full-size
        // buffer for bulk transfer, and a short read switches back.
        var small = ArrayPool<byte>.Shared.Rent(IdleBufferSize);
        byte[]? large = null;
        try
        {
            while (true)
            {
                var buffer = large ?? small;
                int read;
                try
                {
                    read = await stdout.ReadAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    read = 0;
                }

                if (read == 0)
                {
                    TrySetEnd(GatewayConnectionEnd.MachineClosed);
                    _socket.Shutdown(SocketShutdown.Send);
                    return PumpResult.EndOfStream;
                }

                var pending = buffer.AsMemory(0, read);
                while (!pending.IsEmpty)
                {
                    var sent = await _socket.SendAsync(pending, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                    pending = pending[sent..];
                }

                Interlocked.Add(ref _bytesToClient, read);
                _metrics?.Transmitted(read);
                if (large is null && read == small.Length && bufferSize > small.Length)
                {
                    large = ArrayPool<byte>.Shared.Rent(bufferSize);
                }
                else if (large is not null && read < small.Length)
                {
                    ArrayPool<byte>.Shared.Return(large);
                    large = null;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            return Stopped(ex, cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(small);
            if (large is not null)
            {
                ArrayPool<byte>.Shared.Return(large);
            }
        }
    }

    /// <summary>
    /// Sends the ACK for what was just read now instead of after the delayed-ACK timer (Linux TCP_QUICKACK, which the
    /// kernel resets by itself, hence per read). The OpenSSH client sets TCP_NODELAY only for interactive sessions, so
    /// in <c>ssh host command</c>, scp and sftp its Nagle algorithm holds a second small packet until this ACK: without
    /// it every non-interactive login stalls about 40 ms more than the same sshd reached over a pipe.
    /// </summary>
    private void AcknowledgeNow()
    {
        const int IpProtocolTcp = 6;
        const int TcpQuickAck = 12;
        try
        {
            _socket.SetRawSocketOption(IpProtocolTcp, TcpQuickAck, [1, 0, 0, 0]);
        }
        catch (SocketException)
        {
            // Best effort: the socket is closing; the pumps find out on their next call.
        }
    }

    /// <summary>Sends <paramref name="bytes"/> to the client, bounded; a client that is gone or slow is not waited for.</summary>
    private async Task SendQuietlyAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            await _socket.SendAsync(bytes, SocketFlags.None, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private static async ValueTask CloseQuietlyAsync(Stream stream)
    {
        try
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Waits for <paramref name="task"/> at most <paramref name="timeout"/>; true when it finished.</summary>
    internal static async Task<bool> WaitBoundedAsync(Task task, TimeSpan timeout, TimeProvider timeProvider)
    {
        try
        {
            await task.WaitAsync(timeout, timeProvider).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
#pragma warning disable CA1031 // The outcome of the awaited task is observed elsewhere; here only its end matters.
        catch (Exception)
        {
            return true;
        }
#pragma warning restore CA1031
    }
}
