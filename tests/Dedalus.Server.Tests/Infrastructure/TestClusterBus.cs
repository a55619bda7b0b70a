using System.Collections.Concurrent;
using System.Threading.Channels;
using Dedalus.Server.Cluster;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>
/// The cluster bus of a server that is one node among others played by the test: what the server sends is kept in
/// <see cref="Sent"/>, and <see cref="Deliver"/> hands it a signal as if another node had sent it.
/// </summary>
public sealed class TestClusterBus : IClusterBus
{
    private readonly Channel<ClusterSignal> _incoming = Channel.CreateUnbounded<ClusterSignal>();

    public ConcurrentQueue<ClusterSignal> Sent { get; } = new();

    public void Send(ClusterSignal signal) => Sent.Enqueue(signal);

    public void Deliver(ClusterSignal signal) => _incoming.Writer.TryWrite(signal);

    public IAsyncEnumerable<ClusterSignal> ReceiveAllAsync(CancellationToken cancellationToken) => _incoming.Reader.ReadAllAsync(cancellationToken);
}
