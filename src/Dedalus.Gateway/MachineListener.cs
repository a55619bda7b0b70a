using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Dedalus.Gateway;

/// <summary>One machine's listening socket and its live connections.</summary>
internal sealed class MachineListener(string machineId, Socket socket)
{
    private readonly CancellationTokenSource _stopping = new();
    private int _count;

    public string MachineId { get; } = machineId;

    public Socket Socket { get; } = socket;

    public IPEndPoint EndPoint { get; } = (IPEndPoint)socket.LocalEndPoint!;

    public ConcurrentDictionary<long, GatewayConnection> Connections { get; } = new();

    public CancellationToken Stopping => _stopping.Token;

    public Task AcceptLoop { get; set; } = Task.CompletedTask;

    /// <summary>Connections counted against the per-machine limit (admission in progress or open).</summary>
    public int Count => Volatile.Read(ref _count);

    public int Increment() => Interlocked.Increment(ref _count);

    public int Decrement() => Interlocked.Decrement(ref _count);

    public void Stop()
    {
        try
        {
            _stopping.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        Socket.Dispose();
    }
}
