using System.Net;
using System.Net.Sockets;
using Dedalus.Machines.Runtime;

using Dedalus.Machines.Ssh;

namespace Dedalus.Gateway;

/// <summary>
/// One client TCP connection bridged to one <c>sshd -i</c> process inside a machine. State and
/// cutting live here; the byte pumps are in GatewayConnection.Pump.cs, stderr in GatewayConnection.Stderr.cs, the way
/// to authentication (stage, deadline, budgets) in GatewayConnection.PreAuthentication.cs.
/// </summary>
internal sealed partial class GatewayConnection
{
    private const int NoEnd = -1;

    private readonly Socket _socket;
    private readonly CancellationTokenSource _aborted = new();
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<string> _stderrTail = new();
    private readonly int _stderrTailLimit;
    private readonly GatewayMetrics? _metrics;
    private IMachineProcess? _process;
    private int _end = NoEnd;
    private long _bytesFromClient;
    private long _bytesToClient;
    private SshdAcceptedLine? _accepted;
    private int _cutRequested;

    public GatewayConnection(long id, string machineId, Socket socket, DateTimeOffset startedAt, int stderrTailLimit, GatewayMetrics? metrics = null)
    {
        Id = id;
        MachineId = machineId;
        _socket = socket;
        StartedAt = startedAt;
        _stderrTailLimit = stderrTailLimit;
        _metrics = metrics;
        var remote = socket.RemoteEndPoint as IPEndPoint;
        Peer = remote?.ToString() ?? "unknown";
        Source = SourceAddress.Of(remote?.Address ?? IPAddress.None);
    }

    public long Id { get; }

    public string MachineId { get; }

    public string Peer { get; }

    /// <summary>What the per-source budgets count this client as.</summary>
    public SourceAddress Source { get; }

    public DateTimeOffset StartedAt { get; }

    public string? SessionId => Volatile.Read(ref _accepted)?.SessionId;

    public ulong? Serial => Volatile.Read(ref _accepted)?.Serial;

    /// <summary>The login sshd accepted (session id and serial read together), or null before it.</summary>
    public SshdAcceptedLine? Login => Volatile.Read(ref _accepted);

    public long BytesFromClient => Interlocked.Read(ref _bytesFromClient);

    public long BytesToClient => Interlocked.Read(ref _bytesToClient);

    public Socket Socket => _socket;

    /// <summary>Cancelled when the connection is cut (session closed, machine closed, gateway stopping).</summary>
    public CancellationToken Aborted => _aborted.Token;

    /// <summary>Completes when the connection is fully torn down and recorded.</summary>
    public Task Completion => _completed.Task;

    public GatewayConnectionEnd? End
    {
        get
        {
            var end = Volatile.Read(ref _end);
            return end == NoEnd ? null : (GatewayConnectionEnd)end;
        }
    }

    /// <summary>Sets how the connection ended unless something already did (first cause wins).</summary>
    public bool TrySetEnd(GatewayConnectionEnd end) =>
        Interlocked.CompareExchange(ref _end, (int)end, NoEnd) == NoEnd;

    public void AttachProcess(IMachineProcess process)
    {
        Volatile.Write(ref _process, process);
        if (Volatile.Read(ref _cutRequested) != 0)
        {
            KillProcess();
        }
    }

    /// <summary>Cuts the connection now: kills sshd, cancels the pumps and resets the socket.</summary>
    public void Cut(GatewayConnectionEnd reason)
    {
        TrySetEnd(reason);
        Volatile.Write(ref _cutRequested, 1);
        KillProcess();
        try
        {
            _aborted.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        CancelPreAuthentication();
        Reset();
    }

    public void MarkCompleted()
    {
        _deadline?.Dispose();
        _aborted.Dispose();
        _preAuthentication.Dispose();
        _completed.TrySetResult();
    }

    public IReadOnlyList<string> StderrTail()
    {
        lock (_stderrTail)
        {
            return [.. _stderrTail];
        }
    }

    /// <summary>Closes the socket with RST (SO_LINGER 0): the client learns at once.</summary>
    public void Reset()
    {
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
    }

    private void KillProcess()
    {
        try
        {
            Volatile.Read(ref _process)?.Kill();
        }
        catch (InvalidOperationException)
        {
            // Includes ObjectDisposedException: the process is already gone.
        }
    }
}
