using System.Collections.Concurrent;
using Dedalus.Server.Gateway;

namespace Dedalus.Server.Tests.Infrastructure;

/// <summary>Open-connection counts a test sets, in place of a gateway (autosleep logic on a fake clock).</summary>
public sealed class SettableOpenConnections : IOpenConnections
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    public void Set(string machineId, int count) => _counts[machineId] = count;

    public int Count(string machineId) => _counts.TryGetValue(machineId, out var count) ? count : 0;
}
