using System.Collections.Concurrent;

namespace Dedalus.Server.Machines;

/// <summary>When the gateway last reported activity on each machine (connections open, bytes flowing); autosleep reads it.</summary>
public sealed class MachineActivity(TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastReported = new(StringComparer.Ordinal);

    public void Report(string machineId) => _lastReported[machineId] = timeProvider.GetUtcNow();

    public DateTimeOffset? LastReported(string machineId) => _lastReported.TryGetValue(machineId, out var at) ? at : null;
}
