using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Dedalus.Gateway;

/// <summary>One machine's listening socket and its live connections.</summary>
internal sealed class MachineListener(string machineId, Socket socket)
{
    private readonly CancellationTokenSource _stopping = new();
    private int _count;
    private int _authenticated;

    public string MachineId { get; } = machineId;

    public Socket Socket { get; } = socket;

    public IPEndPoint EndPoint { get; } = (IPEndPoint)socket.LocalEndPoint!;

    public ConcurrentDictionary<long, GatewayConnection> Connections { get; } = new();

    public CancellationToken Stopping => _stopping.Token;

    public Task AcceptLoop { get; set; } = Task.CompletedTask;

    /// <summary>Open connections: identified and not ended (admission, handshake or session); they keep the machine awake.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Authenticated connections, counted against <see cref="GatewayOptions.MaxConnectionsPerMachine"/>.</summary>
    public int AuthenticatedCount => Volatile.Read(ref _authenticated);

    public int Increment() => Interlocked.Increment(ref _count);

    public int Decrement() => Interlocked.Decrement(ref _count);

    public int IncrementAuthenticated() => Interlocked.Increment(ref _authenticated);

    public int DecrementAuthenticated() => Interlocked.Decrement(ref _authenticated);

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
