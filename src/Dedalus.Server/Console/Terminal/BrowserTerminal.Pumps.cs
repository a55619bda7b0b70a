using System.Net.WebSockets;
using System.Threading.Channels;

namespace Dedalus.Server.Console.Terminal;

internal sealed partial class BrowserTerminal
{
    private int _ignoredFrames;
    private string _lastStatus = string.Empty;

    /// <summary>
    /// Reads the PTY on a thread of its own (a PTY read blocks) into the bounded channel: a full channel blocks the
    /// thread, so a slow browser stops the reading instead of growing a buffer. Ends at the PTY's end (EIO once ssh and
    /// the server's slave are closed) or when the send loop is gone.
    /// </summary>
    private Task StartPtyReader(PseudoTerminal pty)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                var buffer = new byte[TerminalLimits.OutputChunkBytes];
                while (true)
                {
                    int read;
                    try
                    {
                        read = pty.Master.Read(buffer);
                    }
                    catch (Exception e) when (e is IOException or ObjectDisposedException)
                    {
                        break;
                    }

                    if (read == 0)
                    {
                        break;
                    }

                    Interlocked.Add(ref _ptyBytesRead, read);
                    Interlocked.Add(ref _bufferedBytes, read);
                    try
                    {
                        // Blocks this thread (not the pool) while the channel is full.
                        _outgoing.Writer.WriteAsync(new OutgoingFrame(buffer[..read], WebSocketMessageType.Binary), CancellationToken.None).AsTask().GetAwaiter().GetResult();
                    }
                    catch (ChannelClosedException)
                    {
                        Interlocked.Add(ref _bufferedBytes, -read);
                        break;
                    }
                }
            }
            finally
            {
                done.TrySetResult();
            }
        })
        {
            IsBackground = true,
            Name = "dedalus-terminal-pty",
        };
        thread.Start();
        return done.Task;
    }

    /// <summary>The only writer of the socket: frames in order, one at a time. Stops the channel when the socket fails.</summary>
    private async Task SendLoopAsync()
    {
        try
        {
            await foreach (var frame in _outgoing.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                // No token: a stuck browser is dropped by the keep-alive timeout, which aborts the socket and this send.
                await _socket.SendAsync(frame.Data, frame.Type, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
                if (frame.Type == WebSocketMessageType.Binary)
                {
                    Interlocked.Add(ref _bufferedBytes, -frame.Data.Length);
                    Interlocked.Add(ref _outputBytesSent, frame.Data.Length);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The browser is gone: end the terminal, and let the PTY reader see a closed channel.
            _outgoing.Writer.TryComplete();
            End(BrowserGone);
        }
    }

    /// <summary>
    /// Reads the browser: binary frames are input (once connected), text frames control (resize). A close, a broken
    /// socket, a frame over the limit or a flood of ignored frames ends the terminal.
    /// </summary>
    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[TerminalLimits.MaxInputFrameBytes];
        var token = _stopReceiving.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        End(TerminalEnd.Error($"a browser frame exceeded {TerminalLimits.MaxInputFrameBytes} bytes"));
                        return;
                    }

                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), token).ConfigureAwait(false);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                switch (result.MessageType)
                {
                    case WebSocketMessageType.Close:
                        End(BrowserGone);
                        return;
                    case WebSocketMessageType.Binary:
                        await WriteInputAsync(buffer.AsMemory(0, length), token).ConfigureAwait(false);
                        break;
                    default:
                        Control(buffer.AsSpan(0, length));
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
        {
            End(BrowserGone);
        }
    }

    private async Task WriteInputAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken)
    {
        if (!_connected || _pty is not { } pty)
        {
            Ignore("input before the connection is up");
            return;
        }

        Interlocked.Add(ref _inputBytes, input.Length);
        try
        {
            // Blocks (and stops reading the browser) while the PTY's input buffer is full: input has backpressure too.
            await pty.Master.WriteAsync(input, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // ssh is gone: its end is reported by the bridge.
        }
    }

    private void Control(ReadOnlySpan<byte> json)
    {
        if (json.Length > TerminalLimits.MaxControlFrameBytes)
        {
            Ignore("control frame too long");
            return;
        }

        if (!TerminalFrames.TryReadResize(json, out var columns, out var rows, out var problem))
        {
            Ignore(problem);
            return;
        }

        Volatile.Write(ref _columns, columns);
        Volatile.Write(ref _rows, rows);
        try
        {
            _pty?.Resize(columns, rows);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The PTY is closing.
        }
    }

    /// <summary>Logs an ignored frame at debug; past <see cref="TerminalLimits.MaxIgnoredFrames"/>, ends the terminal as garbage.</summary>
    private void Ignore(string problem)
    {
        ServerLog.TerminalFrameIgnored(_logger, _sessionId, problem);
        if (Interlocked.Increment(ref _ignoredFrames) > TerminalLimits.MaxIgnoredFrames)
        {
            End(TerminalEnd.Error($"the browser sent more than {TerminalLimits.MaxIgnoredFrames} frames the terminal could not use"));
        }
    }

    /// <summary>A <c>status</c> frame, when the text changed.</summary>
    private Task SendStatusAsync(string text)
    {
        if (text == _lastStatus)
        {
            return Task.CompletedTask;
        }

        _lastStatus = text;
        return SendAsync(OutgoingFrame.Text(TerminalFrames.Status(text)), _end.Token);
    }

    private async Task SendAsync(OutgoingFrame frame, CancellationToken cancellationToken)
    {
        try
        {
            await _outgoing.Writer.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // The send loop is gone with the browser; the terminal is ending.
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The last frame: bounded, since the browser may have stopped reading.</summary>
    private async Task TrySendAsync(OutgoingFrame frame)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _outgoing.Writer.WriteAsync(frame, bound.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ChannelClosedException or OperationCanceledException)
        {
        }
    }
}
