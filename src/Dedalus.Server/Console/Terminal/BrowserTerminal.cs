using System.Diagnostics;
using System.Net.WebSockets;
using System.Threading.Channels;
using Dedalus.Contracts;
using Dedalus.Server.Errors;
using Dedalus.Server.Machines;
using Dedalus.Server.Sessions;
using Dedalus.Server.Sessions.Api;
using Dedalus.Server.Store;

namespace Dedalus.Server.Console.Terminal;

/// <summary>
/// One browser terminal, from the accepted WebSocket to its end: an SSH session of its own (fresh key, own
/// certificate), a wait until it is ready (progress as <c>status</c> frames), <c>ssh</c> on a pseudo-terminal, and
/// the bridge between the two. Whatever ends it (browser gone, ssh exited, session revoked or expired, sign-out,
/// shutdown), ssh's process group is killed, the private files deleted and the session closed (its certificate
/// revoked); the browser, if still there, gets one <c>closed</c> frame naming why.
/// </summary>
/// <remarks>
/// Three loops share the socket: the receive loop (input, resize, the browser's close), the PTY reader (a thread of
/// its own: PTY reads block) and the send loop, the only writer of the socket, fed through a bounded channel. When
/// the browser reads slowly the channel fills, the reader stops reading the PTY, the PTY's buffer fills, and ssh (then
/// the remote writer) waits: the server holds at most <see cref="TerminalLimits.OutputQueueFrames"/> chunks.
/// </remarks>
internal sealed partial class BrowserTerminal : IAsyncDisposable
{
    private readonly WebSocket _socket;
    private readonly ConsoleCallerInfo _caller;
    private readonly MachineRecord _machine;
    private readonly SshSessionService _sessions;
    private readonly SshSessionMapper _mapper;
    private readonly MachineChangeFeed _machineFeed;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _end = new();

    /// <summary>
    /// Stops the receive loop, only once the close handshake had its chance: cancelling a WebSocket receive aborts the
    /// socket, which would drop the <c>closed</c> frame.
    /// </summary>
    private readonly CancellationTokenSource _stopReceiving = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<OutgoingFrame> _outgoing = Channel.CreateBounded<OutgoingFrame>(
        new BoundedChannelOptions(TerminalLimits.OutputQueueFrames) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private TerminalEnd? _requestedEnd;
    private PseudoTerminal? _pty;
    private Task _reader = Task.CompletedTask;
    private string? _sessionId;
    private volatile bool _connected;
    private int _columns;
    private int _rows;
    private long _inputBytes;
    private long _ptyBytesRead;
    private long _outputBytesSent;
    private long _bufferedBytes;

    public BrowserTerminal(
        WebSocket socket,
        ConsoleCallerInfo caller,
        MachineRecord machine,
        int columns,
        int rows,
        SshSessionService sessions,
        SshSessionMapper mapper,
        MachineChangeFeed machineFeed,
        ILogger logger)
    {
        _socket = socket;
        _caller = caller;
        _machine = machine;
        _columns = columns;
        _rows = rows;
        _sessions = sessions;
        _mapper = mapper;
        _machineFeed = machineFeed;
        _logger = logger;
    }

    public string BrowserSessionId => _caller.BrowserSessionId;

    /// <summary>Completes when the terminal has ended and cleaned up.</summary>
    public Task Completion => _completion.Task;

    public TerminalInfo Info => new(
        MachineIds.Wire(_machine.Id),
        _caller.OrgId,
        _sessionId,
        _pty?.Child?.Id,
        Interlocked.Read(ref _inputBytes),
        Interlocked.Read(ref _ptyBytesRead),
        Interlocked.Read(ref _outputBytesSent),
        Interlocked.Read(ref _bufferedBytes));

    private string MachineWireId => MachineIds.Wire(_machine.Id);

    /// <summary>Ends the terminal from outside (sign-out, shutdown): the browser gets a <c>closed</c> frame with <paramref name="why"/>.</summary>
    public void End(TerminalEnd why)
    {
        Interlocked.CompareExchange(ref _requestedEnd, why, null);
        try
        {
            _end.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // It has ended already.
        }
    }

    public async Task RunAsync(CancellationToken requestAborted)
    {
        var clock = Stopwatch.StartNew();
        using var aborted = requestAborted.Register(() => End(BrowserGone));
        var sender = Task.Run(SendLoopAsync, CancellationToken.None);
        var receiver = Task.Run(ReceiveLoopAsync, CancellationToken.None);
        TerminalEnd end;
        int? sshExit = null;
        try
        {
            (end, sshExit) = await ConnectAndBridgeAsync(_end.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_end.IsCancellationRequested)
        {
            end = _requestedEnd ?? BrowserGone;
        }
        catch (TerminalEndedException e)
        {
            end = e.End;
        }
        catch (DomainException e)
        {
            // The session could not be created (quota, node down, machine destroyed meanwhile): the message says why.
            end = TerminalEnd.Error(e.Message);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ArgumentException or System.ComponentModel.Win32Exception or UnauthorizedAccessException)
        {
            ServerLog.TerminalFailed(_logger, MachineWireId, e);
            end = TerminalEnd.Error("the terminal failed on the server: " + e.Message);
        }

        try
        {
            // ssh first (its group killed and reaped, the PTY closed), then the session: the revocation comes last.
            StopSsh();
            await WaitBoundedAsync(_reader).ConfigureAwait(false);
            await EndSessionAsync().ConfigureAwait(false);
            if (!ReferenceEquals(end, BrowserGone))
            {
                await TrySendAsync(OutgoingFrame.Text(TerminalFrames.Closed(end))).ConfigureAwait(false);
            }

            _outgoing.Writer.TryComplete();
            if (!await WaitBoundedAsync(sender).ConfigureAwait(false))
            {
                // The browser stopped reading: what is queued is dropped with the connection.
                _socket.Abort();
            }

            await CloseSocketAsync(end).ConfigureAwait(false);

            // The browser answers our close: its reply ends the receive loop; past the bound, cancelling aborts the socket.
            if (!await WaitBoundedAsync(receiver).ConfigureAwait(false))
            {
                await _stopReceiving.CancelAsync().ConfigureAwait(false);
                await receiver.ConfigureAwait(false);
            }
        }
        finally
        {
            ServerLog.TerminalEnded(_logger, MachineWireId, end.Code, clock.Elapsed, _sessionId, sshExit, Interlocked.Read(ref _inputBytes), Interlocked.Read(ref _outputBytesSent));
            _completion.TrySetResult();
        }
    }

    public ValueTask DisposeAsync()
    {
        _pty?.Dispose();
        _end.Dispose();
        _stopReceiving.Dispose();
        _completion.TrySetResult();
        return ValueTask.CompletedTask;
    }

    /// <summary>Waits up to a few seconds for <paramref name="task"/>; false when it is still running.</summary>
    private static async Task<bool> WaitBoundedAsync(Task task)
    {
        try
        {
            await task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>The end when the browser went away: no <c>closed</c> frame (nobody would read it).</summary>
    private static readonly TerminalEnd BrowserGone = new("browser_closed", "the browser closed the terminal");

    /// <summary>Closes the WebSocket with a status matching the end, within a short bound (the browser may be gone).</summary>
    private async Task CloseSocketAsync(TerminalEnd end)
    {
        if (_socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }

        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            var status = end.Code == TerminalEnd.ErrorCode ? WebSocketCloseStatus.PolicyViolation : WebSocketCloseStatus.NormalClosure;
            if (end.Code == TerminalEnd.ShutdownCode)
            {
                status = WebSocketCloseStatus.EndpointUnavailable;
            }

            await _socket.CloseOutputAsync(status, end.Code, bound.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            _socket.Abort();
        }
    }

    /// <summary>An end decided while connecting (a failed session, say): the <c>closed</c> frame it gets.</summary>
    private sealed class TerminalEndedException(TerminalEnd end) : Exception(end.Reason)
    {
        public TerminalEnd End { get; } = end;
    }

    /// <summary>A frame for the send loop; binary frames count against the buffered bytes until sent.</summary>
    private readonly record struct OutgoingFrame(byte[] Data, WebSocketMessageType Type)
    {
        public static OutgoingFrame Text(byte[] json) => new(json, WebSocketMessageType.Text);
    }
}
