using Dedalus.Machines.Runtime;

namespace Dedalus.Gateway.Tests.Infrastructure;

/// <summary>A real <see cref="ISshServerConnector"/> that counts how often the gateway asked it to start an SSH server.</summary>
public sealed class CountingConnector(ISshServerConnector inner) : ISshServerConnector
{
    private int _connectCount;

    /// <summary>How many SSH servers the gateway asked for.</summary>
    public int ConnectCount => Volatile.Read(ref _connectCount);

    public Task<IMachineProcess> ConnectAsync(string machineId, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _connectCount);
        return inner.ConnectAsync(machineId, cancellationToken);
    }
}
