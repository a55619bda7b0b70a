using System.Collections.Concurrent;

namespace Dedalus.Server.Domain;

/// <summary>In-memory activity from the gateway: open connections per machine and when activity was last reported.</summary>
public sealed class MachineActivity(TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastReported = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _open = new(StringComparer.Ordinal);

    public void Report(string machineId) => _lastReported[machineId] = timeProvider.GetUtcNow();

    public void ConnectionOpened(string machineId)
    {
        _open.AddOrUpdate(machineId, 1, static (_, n) => n + 1);
        Report(machineId);
    }

    public void ConnectionClosed(string machineId)
    {
        _open.AddOrUpdate(machineId, 0, static (_, n) => Math.Max(0, n - 1));
        Report(machineId);
    }

    /// <summary>Asks the gateway how many connections a machine has open (set when the gateway runs in-process).</summary>
    public Func<string, int>? OpenConnectionCount { get; set; }

    public bool HasOpenConnections(string machineId) =>
        (_open.TryGetValue(machineId, out var n) && n > 0) || OpenConnectionCount?.Invoke(machineId) > 0;

    public DateTimeOffset? LastReported(string machineId) => _lastReported.TryGetValue(machineId, out var at) ? at : null;
}
