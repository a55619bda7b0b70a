using System.Net.Sockets;
using Dedalus.Machines.Runtime;

namespace Dedalus.Machines.Ssh;

/// <summary>
/// One TCP connection from the gateway's address to a machine's listening sshd, behind the <see cref="IMachineProcess"/>
/// contract: stdin and stdout are the socket (disposing stdin half-closes it), stderr the daemon's lines that name this
/// connection's source port, <see cref="Exited"/> completes when sshd closes its side (or on <see cref="Kill"/>), and
/// <see cref="Kill"/> resets the socket, which ends sshd's session process for it at once.
/// </summary>
internal sealed class ListeningSshConnection : IMachineProcess
{
    private readonly Socket _socket;
    private readonly Action<ListeningSshConnection> _onEnd;
    private readonly LineQueueStream _errors = new();
    /// <summary>
    /// How long stderr stays open after sshd closed the connection: its last messages about it ("Unable to negotiate
    /// ...", "Disconnected from ...") come through the daemon's log pipe, which may be read after the socket's end.
    /// </summary>
    private static readonly TimeSpan TrailingLines = TimeSpan.FromMilliseconds(300);

    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _ended;
    private int _sshdClosed;

    public ListeningSshConnection(Socket socket, int localPort, Action<ListeningSshConnection> onEnd)
    {
        _socket = socket;
        _onEnd = onEnd;
        LocalPort = localPort;
        StandardInput = new InputStream(this);
        StandardOutput = new OutputStream(this);
    }

    /// <summary>The connection's source port on the gateway address: the key of its log lines.</summary>
    public int LocalPort { get; }

    public Stream StandardInput { get; }

    public Stream StandardOutput { get; }

    public Stream StandardError => _errors;

    public Task<int> Exited => _exited.Task;

    /// <summary>Hands one of the daemon's lines (with its line end) to this connection's stderr.</summary>
    public void AddLine(byte[] line) => _errors.TryAdd(line);

    public void Kill()
    {
        try
        {
            // An RST, not a FIN: sshd's process for this connection ends on it at once (cut by session, shutdown).
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        _socket.Dispose();
        if (Volatile.Read(ref _sshdClosed) == 0)
        {
            End(-1);
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        End(0);
        return ValueTask.CompletedTask;
    }

    /// <summary>sshd closed its side: the connection ends once its trailing log lines had time to arrive.</summary>
    private void SshdClosed()
    {
        if (Interlocked.Exchange(ref _sshdClosed, 1) == 0)
        {
            _ = EndAfterTrailingLinesAsync();
        }
    }

    private async Task EndAfterTrailingLinesAsync()
    {
        await Task.Delay(TrailingLines).ConfigureAwait(false);
        End(0);
    }

    /// <summary>Once: stderr ends, <see cref="Exited"/> completes, the daemon forgets the port.</summary>
    private void End(int code)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            return;
        }

        _errors.Complete();
        _onEnd(this);
        _exited.TrySetResult(code);
    }

    private sealed class InputStream(ListeningSshConnection owner) : Stream
    {
        private int _closed;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                while (!buffer.IsEmpty)
                {
                    var sent = await owner._socket.SendAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                    buffer = buffer[sent..];
                }
            }
            catch (SocketException e)
            {
                throw new IOException("sshd's connection failed: " + e.Message, e);
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) =>
            WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && Interlocked.Exchange(ref _closed, 1) == 0)
            {
                try
                {
                    owner._socket.Shutdown(SocketShutdown.Send);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
            }

            base.Dispose(disposing);
        }
    }

    private sealed class OutputStream(ListeningSshConnection owner) : ReadOnlyStream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int read;
            try
            {
                read = await owner._socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                owner.End(-1);
                throw new IOException("sshd's connection failed: " + e.Message, e);
            }
            catch (ObjectDisposedException)
            {
                owner.End(-1);
                return 0;
            }

            if (read == 0 && !buffer.IsEmpty)
            {
                // sshd closed its side: for the gateway this is the process's exit.
                owner.SshdClosed();
            }

            return read;
        }
    }
}
